package dev.sidecars.logforwarder.tail;

import dev.sidecars.logforwarder.LogForwarderMetrics;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * The file handles held, at most {@code LOG_MAX_OPEN_FILES}, and the forwarder's one way of losing
 * lines while it runs. A handle is given up only when the bound forces it:
 * <ol>
 *   <li>first a file whose every byte the collector accepted (it is reopened by its path when it grows);
 *   <li>then the file with the least data not yet read: if it is still on disk (under its name, or
 *       renamed beside it) nothing is lost, it is reopened when a handle is free; if it was deleted, its
 *       unread bytes are lost: counted in {@code log_forwarder_unshipped_bytes_abandoned_total} and
 *       logged with the file's name.
 * </ol>
 * A file closed while still on disk and deleted before it is reopened is lost the same way, counted and
 * logged when that is noticed. Only a new file may take the handle of a deleted one (a new file not held
 * could be rotated away unseen); reopening a file still on disk never costs another file's lines.
 *
 * <p>Also tracks the files that cannot be opened for lack of permission: each is logged once and counted
 * on {@code log_forwarder_files_unreadable} while it matches.
 */
final class OpenFiles {
  private static final Logger log = Logger.getLogger(OpenFiles.class.getName());

  /** Ends the following of a file given up with unread bytes: what was read is still shipped. */
  interface Abandon {
    void abandon(TailedFile file) throws InterruptedException;
  }

  private final int max;
  private final LogForwarderMetrics metrics;
  private final AtomicInteger open = new AtomicInteger();
  private final Set<Path> unreadable = ConcurrentHashMap.newKeySet();

  OpenFiles(int max, LogForwarderMetrics metrics) {
    this.max = max;
    this.metrics = metrics;
    metrics.unreadableFiles(unreadable::size);
  }

  int open() {
    return open.get();
  }

  /** On the discovery thread: opens a newly found file if a handle is free; null otherwise (or if it cannot be). */
  FileChannel tryOpenForNew(LogPaths.Found found) {
    if (!take()) {
      return null; // the reading thread makes room (see evict) and opens it
    }
    FileChannel channel = openChecked(found.path(), found.fileKey());
    if (channel == null) {
      open.decrementAndGet();
    }
    return channel;
  }

  /** Closes a handle opened by {@link #tryOpenForNew} that no file took. */
  void closeUnowned(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // a read handle
    }
    open.decrementAndGet();
  }

  /** Hands a handle opened by {@link #tryOpenForNew} to the file; it now counts as that file's. */
  void adopt(TailedFile f, FileChannel channel) {
    f.channel = channel;
  }

  /**
   * Opens {@code f} at its path, making room under the bound as described above when needed; {@code
   * mayLose}: whether a deleted file's handle may be given up for it (only for a new file).
   */
  boolean open(TailedFile f, Collection<TailedFile> files, boolean mayLose, Abandon abandon) throws InterruptedException {
    return open(f, f, files, mayLose, abandon);
  }

  /** As {@link #open(TailedFile, Collection, boolean, Abandon)}, never closing {@code keep} either. */
  boolean open(TailedFile f, TailedFile keep, Collection<TailedFile> files, boolean mayLose, Abandon abandon)
      throws InterruptedException {
    if (f.isOpen()) {
      return true;
    }
    while (!take()) {
      if (!evict(files, f, keep, mayLose, abandon)) {
        return false;
      }
    }
    FileChannel channel = openChecked(f.path, f.fileKey);
    if (channel == null) {
      open.decrementAndGet();
      return false;
    }
    f.channel = channel;
    return true;
  }

  void close(TailedFile f) {
    if (f.isOpen()) {
      f.close();
      open.decrementAndGet();
    }
  }

  /** Closes a held copy's handle. */
  void close(TailedFile.HeldCopy copy) {
    if (copy != null) {
      closeUnowned(copy.channel());
    }
  }

  private boolean take() {
    for (int n; (n = open.get()) < max; ) {
      if (open.compareAndSet(n, n + 1)) {
        return true;
      }
    }
    return false;
  }

  /** Opens {@code path} if it is still the file {@code fileKey}; null when it is not, or cannot be read. */
  private FileChannel openChecked(Path path, Object fileKey) {
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (AccessDeniedException e) {
      if (unreadable.add(path)) {
        log.warning(() -> "cannot read " + path + ": permission denied; tried again at every scan, counted in"
            + " log_forwarder_files_unreadable (logged once)");
      }
      return null;
    } catch (IOException e) {
      return null; // gone since it was found
    }
    if (unreadable.remove(path)) {
      log.info(() -> path + " can be read now");
    }
    if (!fileKey.equals(LogPaths.fileKey(path))) {
      try {
        channel.close(); // replaced since it was found; found again by the next scan
      } catch (IOException e) {
        // a read handle
      }
      return null;
    }
    return channel;
  }

  /** Forgets unreadable files no longer matched, so the gauge counts only those that match now. */
  void forgetUnreadableExcept(Collection<LogPaths.Found> matched) {
    if (!unreadable.isEmpty()) {
      Set<Path> now = matched.stream().map(LogPaths.Found::path).collect(Collectors.toSet());
      unreadable.retainAll(now);
    }
  }

  /** Gives up one handle other than {@code except}'s, as described above; false when none may be. */
  boolean evict(Collection<TailedFile> files, TailedFile except, TailedFile keep, boolean mayLose, Abandon abandon)
      throws InterruptedException {
    List<TailedFile> candidates = new ArrayList<>();
    for (TailedFile f : files) {
      if (f != except && f != keep && f.isOpen()) {
        candidates.add(f);
      }
    }
    Optional<TailedFile> shipped = candidates.stream()
        .filter(f -> f.identity.committed() >= f.currentSize() && !f.splitter.hasPartial() && !f.assembler.hasPending())
        .min(Comparator.comparingLong(f -> f.lastReadNanos));
    if (shipped.isPresent()) {
      close(shipped.get());
      return true;
    }
    candidates.sort(Comparator.comparingLong(TailedFile::unread).thenComparingLong(f -> f.lastReadNanos));
    TailedFile gone = null;
    TailedFile onDisk = null;
    Map<Path, Map<Object, Path>> listings = new HashMap<>();
    for (TailedFile f : candidates) {
      Optional<Path> now = f.locate(listings);
      if (now.isPresent()) {
        if (onDisk == null) {
          f.path = now.get();
          onDisk = f;
        }
      } else if (gone == null) {
        gone = f;
      }
      if (onDisk != null && gone != null) {
        break;
      }
    }
    if (gone != null && gone.unread() == 0) {
      close(gone); // deleted, read to its end: what it held is in batches already
      abandon.abandon(gone);
      return true;
    }
    if (onDisk != null) {
      onDisk.knownSize = onDisk.currentSize();
      close(onDisk); // still on disk: read on from where it was once a handle is free
      return true;
    }
    if (gone == null || !mayLose) {
      return false;
    }
    lose(gone, "its handle was needed for a new file (LOG_MAX_OPEN_FILES=" + max + ")");
    close(gone);
    abandon.abandon(gone);
    return true;
  }

  /** Counts and logs the bytes of {@code f} that will never be read, if any. */
  void lose(TailedFile f, String why) {
    long lost = Math.max(0, f.currentSize() - f.readOffset);
    if (lost == 0) {
      return;
    }
    metrics.bytesAbandoned.increment(lost);
    log.warning(() -> f.path + " " + f.fileKey + " was deleted with " + lost
        + " bytes not yet read, and " + why + ": those bytes are lost (log_forwarder_unshipped_bytes_abandoned_total)");
  }
}
