package dev.sidecars.logforwarder.tail;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Finds the files {@code LOG_PATHS} matches and opens each new one at once, on a thread of its own that
 * never waits for reading or shipping. New files are seen through the file system's notifications (the
 * JDK's {@link WatchService}: inotify on Linux) on every directory a glob can match in, within
 * milliseconds of their creation; the globs are also expanded every {@code LOG_RESCAN_INTERVAL}, which
 * catches what notifications miss (an overflow, a directory that appeared between two scans, a file
 * system without them).
 *
 * <p>A file opened here is held from then on, so a rename or delete before the reading thread gets to
 * it (reading pauses while the collector is away) cannot take its bytes away. What is found goes to the
 * reading thread through {@link #poll()}: a {@link Seen} per file as it is found, and a {@link Scan} with
 * every match after each expansion of the globs.
 */
final class Discovery implements Runnable {
  private static final Logger log = Logger.getLogger(Discovery.class.getName());

  /**
   * A matching file found at {@code seenNanos}; {@code channel} is its handle, null when none was free or it
   * was known already.
   */
  record Seen(LogPaths.Found found, FileChannel channel, boolean initial, long seenNanos) {}

  /**
   * A file created beside matching ones that no glob matches: it may be the copy a copy-truncate rotation
   * makes of a followed file (its content is not known yet: the copy is created empty, then written).
   */
  record Sibling(Path path, Object fileKey, FileChannel channel, long seenNanos) {}

  /**
   * Every matching file as a scan started at {@code startedNanos} found them, after the {@link Seen}s of
   * the new ones among them.
   */
  record Scan(Map<Object, LogPaths.Found> found, boolean initial, long startedNanos) {}

  private final LogPaths paths;
  private final Duration rescan;
  private final OpenFiles handles;
  private final Set<Object> followed;
  private final LongSupplier clockNanos;
  private final Runnable wake;
  private final ConcurrentLinkedQueue<Object> out = new ConcurrentLinkedQueue<>();
  // Keys handed over and not yet followed (or declined): not opened again for every notification.
  private final Set<Object> handedOver = ConcurrentHashMap.newKeySet();
  private final Map<Path, WatchKey> watched = new HashMap<>();
  private final CountDownLatch done = new CountDownLatch(1);
  private final WatchService watcher;
  private volatile boolean stopped;
  private volatile Thread thread;
  private boolean initial = true;

  /**
   * @param followed the file keys the reading thread follows now (it keeps the set); they are not opened again
   * @param wake called after something was handed over, to wake the reading thread
   */
  Discovery(LogPaths paths, Duration rescan, OpenFiles handles, Set<Object> followed, LongSupplier clockNanos,
      Runnable wake) {
    this.paths = paths;
    this.rescan = rescan;
    this.handles = handles;
    this.followed = followed;
    this.clockNanos = clockNanos;
    this.wake = wake;
    this.watcher = newWatcher();
  }

  private static WatchService newWatcher() {
    try {
      return FileSystems.getDefault().newWatchService();
    } catch (IOException | UnsupportedOperationException e) {
      log.warning("no file system notifications (" + e.getMessage() + "): new files are found by the periodic"
          + " scan only (LOG_RESCAN_INTERVAL)");
      return null;
    }
  }

  /** The next finding for the reading thread, or null. */
  Object poll() {
    return out.poll();
  }

  @Override
  public void run() {
    thread = Thread.currentThread();
    try {
      long nextScan = clockNanos.getAsLong();
      while (!stopped) {
        long now = clockNanos.getAsLong();
        if (now >= nextScan) {
          // A directory watched only now may have gained entries between the walk and the watch (a tree made
          // with mkdir -p): walk again until no new directory turns up.
          nextScan = scan() ? now : clockNanos.getAsLong() + rescan.toNanos();
          continue;
        }
        if (watcher == null) {
          TimeUnit.NANOSECONDS.sleep(nextScan - now);
          continue;
        }
        WatchKey key = watcher.poll(nextScan - now, TimeUnit.NANOSECONDS);
        for (; key != null; key = watcher.poll()) {
          if (events(key)) {
            nextScan = now; // notifications were lost: expand the globs now
          }
        }
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // stopping
    } catch (RuntimeException | Error e) {
      log.log(Level.SEVERE, "finding new files stopped; files are no longer discovered", e);
      throw e;
    } finally {
      done.countDown();
    }
  }

  /** Stops the thread and waits for it; handles already handed over stay open (the reading thread owns them). */
  void stop() throws InterruptedException {
    stopped = true;
    Thread t = thread;
    if (t != null) {
      t.interrupt();
      done.await(5, TimeUnit.SECONDS);
    }
    if (watcher != null) {
      try {
        watcher.close();
      } catch (IOException e) {
        // nothing left to watch
      }
    }
    Object o;
    while ((o = out.poll()) != null) {
      if (o instanceof Seen seen && seen.channel() != null) {
        handles.closeUnowned(seen.channel());
      } else if (o instanceof Sibling sibling) {
        handles.closeUnowned(sibling.channel());
      }
    }
  }

  /**
   * Expands the globs: hands over each new file, opened, then every match; watches every directory found.
   * Returns true when a directory was watched for the first time.
   */
  boolean scan() {
    long started = clockNanos.getAsLong();
    Set<Path> directories = new LinkedHashSet<>();
    Map<Object, LogPaths.Found> found = paths.scan(directories);
    for (LogPaths.Found f : found.values()) {
      if (!followed.contains(f.fileKey()) && handedOver.add(f.fileKey())) {
        handOver(f);
      }
    }
    handedOver.retainAll(found.keySet());
    handedOver.removeAll(followed);
    handles.forgetUnreadableExcept(found.values());
    boolean newlyWatched = watch(directories);
    out.add(new Scan(found, initial, started));
    initial = false;
    wake.run();
    return newlyWatched;
  }

  private void handOver(LogPaths.Found f) {
    FileChannel channel = handles.tryOpenForNew(f);
    out.add(new Seen(f, channel, initial, clockNanos.getAsLong()));
  }

  private boolean watch(Set<Path> directories) {
    if (watcher == null) {
      return false;
    }
    boolean newlyWatched = false;
    for (Iterator<Map.Entry<Path, WatchKey>> it = watched.entrySet().iterator(); it.hasNext(); ) {
      if (!it.next().getValue().isValid()) {
        it.remove(); // the directory went away; registered again if it comes back
      }
    }
    for (Path dir : directories) {
      if (!watched.containsKey(dir)) {
        try {
          watched.put(dir, dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE));
          newlyWatched = true;
        } catch (IOException | RuntimeException e) {
          log.log(Level.FINE, "cannot watch " + dir + "; the periodic scan covers it", e);
        }
      }
    }
    return newlyWatched;
  }

  /** Handles one directory's notifications; true when some were lost (overflow) or a directory appeared. */
  private boolean events(WatchKey key) {
    Path dir = (Path) key.watchable();
    boolean rescanNow = false;
    boolean handed = false;
    for (WatchEvent<?> event : key.pollEvents()) {
      if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
        rescanNow = true;
        continue;
      }
      Path path = dir.resolve((Path) event.context());
      if (Files.isDirectory(path)) {
        rescanNow |= paths.mayHoldMatches(path); // walked and watched by the scan
        continue;
      }
      Optional<LogPaths.Found> match = paths.match(path);
      if (match.isEmpty()) {
        Object fileKey = LogPaths.fileKey(path);
        if (fileKey != null && !followed.contains(fileKey) && Files.isRegularFile(path)) {
          // Opened now: a copy may be renamed again, or deleted, before the reading thread looks at it.
          FileChannel channel = handles.tryOpenForNew(new LogPaths.Found(path, fileKey, 0));
          if (channel != null) {
            out.add(new Sibling(path, fileKey, channel, clockNanos.getAsLong()));
            handed = true;
          }
        }
        continue;
      }
      LogPaths.Found f = match.get();
      // Known already (renamed within the globs): handed over without a handle, for its new name.
      FileChannel channel = null;
      if (!followed.contains(f.fileKey()) && handedOver.add(f.fileKey())) {
        channel = handles.tryOpenForNew(f);
      }
      out.add(new Seen(f, channel, false, clockNanos.getAsLong()));
      handed = true;
    }
    if (!key.reset()) {
      watched.remove(dir);
    }
    if (handed) {
      wake.run();
    }
    return rescanNow;
  }
}
