package dev.sidecars.logforwarder.tail;

import dev.sidecars.logforwarder.LogForwarderConfig;
import dev.sidecars.logforwarder.LogForwarderMetrics;
import dev.sidecars.logforwarder.checkpoint.Checkpoint;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.checkpoint.Fingerprint;
import dev.sidecars.logforwarder.parse.FileAttributes;
import dev.sidecars.logforwarder.parse.RecordFactory;
import dev.sidecars.logforwarder.parse.Utf8Text;
import dev.sidecars.logforwarder.ship.Batcher;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * The reading side, on one thread: expands the globs every rescan interval, reads every followed file in
 * turn (a bounded chunk each, so one busy file cannot starve the others), cuts lines, joins entries,
 * builds records and hands them to the {@link Batcher}. It owns every {@link TailedFile}; only the
 * committed offsets are shared with the shipper.
 *
 * <p>Rotation: a renamed or deleted file keeps its handle and is read to its end, then followed for
 * {@code LOG_ROTATE_WAIT} more. A file whose content was replaced under the same inode (copy-truncate, or
 * an inode reused) is noticed by its size or fingerprint; the part not yet read is taken from the copy,
 * found beside it by fingerprint, before the new content is read from its start.
 *
 * <p>While the shipper's queue is full (collector slow or away) nothing more is read (a read chunk is
 * left off after the line that filled it), but the globs are
 * still expanded and new files followed and opened, so a file that appears and is rotated away during an
 * outage is still read once the collector is back.
 */
public final class Tailer implements Runnable {
  private static final Logger log = Logger.getLogger(Tailer.class.getName());
  private static final int CHUNK = 256 * 1024;

  private final LogForwarderConfig config;
  private final LogPaths paths;
  private final CheckpointStore checkpoints;
  private final RecordFactory records;
  // When the bytes being split were read: the observed time of their lines (one clock read per read,
  // not per line).
  private long observedAt;
  // Lines split since the counter was last moved: it moves once per read, not per line (a composite
  // counter's increment walks its registries, and was an eighth of this thread's time).
  private int uncountedLines;
  private final Batcher batcher;
  private final LogForwarderMetrics metrics;
  private final LongSupplier clockNanos;
  private final Map<Object, TailedFile> byKey = new HashMap<>();
  private final List<TailedFile> files = new ArrayList<>();
  private final byte[] buf = new byte[CHUNK];
  private final CountDownLatch done = new CountDownLatch(1);
  private volatile boolean stopping;
  private volatile long stopReadingBy;
  private volatile boolean tailing;
  private volatile Throwable failure;
  private volatile Thread thread;
  private int openFiles;
  private int cursor;

  public Tailer(LogForwarderConfig config, CheckpointStore checkpoints, RecordFactory records, Batcher batcher,
      LogForwarderMetrics metrics, LongSupplier clockNanos) {
    this.config = config;
    this.paths = new LogPaths(config.paths(), config.excludes());
    this.checkpoints = checkpoints;
    this.records = records;
    this.batcher = batcher;
    this.metrics = metrics;
    this.clockNanos = clockNanos;
  }

  /** True once the first scan is done and reading has begun. */
  public boolean tailing() {
    return tailing;
  }

  /** Why reading stopped unexpectedly, if it did. */
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  @Override
  public void run() {
    thread = Thread.currentThread();
    try {
      long nextScan = clockNanos.getAsLong();
      boolean first = true;
      while (true) {
        long now = clockNanos.getAsLong();
        if (stopping) {
          if (now >= stopReadingBy) {
            break;
          }
          // A slow collector during the drain: wait for room rather than end reading early.
          if (!batcher.awaitRoom(Math.min(stopReadingBy - now, TimeUnit.MILLISECONDS.toNanos(100)))) {
            continue;
          }
          if (!readRound()) {
            break;
          }
          continue;
        }
        if (now >= nextScan) {
          scan(first);
          first = false;
          tailing = true;
          nextScan = now + config.rescanInterval().toNanos();
        }
        if (batcher.backlogged()) {
          // The queue is full (collector slow or away): read nothing more, so memory stays bounded, but
          // keep scanning, so a file that appears meanwhile is followed and opened, and is not missed
          // if it is rotated out of LOG_PATHS before the collector is back. Woken as soon as there is room.
          batcher.awaitRoom(Math.max(0, nextScan - clockNanos.getAsLong()));
          continue;
        }
        boolean progressed = readRound();
        if (!batcher.backlogged()) {
          flushQuiet(clockNanos.getAsLong());
          removeFinished(clockNanos.getAsLong());
          batcher.flushIfDue();
        }
        if (!progressed && !stopping) {
          LockSupport.parkNanos(this, config.pollInterval().toNanos());
        }
      }
      // Stopping: what is held becomes records now, so SIGTERM ships every line written so far. A file
      // not read to its end (the read deadline passed) keeps its partial line: it is read again later.
      for (TailedFile f : files) {
        if (f.readOffset >= f.knownSize) {
          flushFile(f);
        }
      }
      batcher.flush();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      failure = e;
      log.log(Level.SEVERE, "tailing stopped", e);
      throw e;
    } finally {
      files.forEach(TailedFile::close);
      openFiles = 0;
      metrics.filesOpen(0);
      done.countDown();
    }
  }

  /** Stops reading once no file has more bytes or at {@code readUntilNanos}, then hands over what is held. */
  public void stop(long readUntilNanos) {
    stopReadingBy = readUntilNanos;
    stopping = true;
    Thread t = thread;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  public boolean awaitDone(long millis) throws InterruptedException {
    return done.await(millis, TimeUnit.MILLISECONDS);
  }

  /** One turn for every file; true if any file had new bytes. */
  private boolean readRound() throws InterruptedException {
    boolean progressed = false;
    int n = files.size();
    int next = n == 0 ? 0 : (cursor + 1) % n;
    for (int k = 0; k < n; k++) {
      if (batcher.backlogged()) {
        next = (cursor + k) % n; // the files not read this round go first next time
        break;
      }
      TailedFile f = files.get((cursor + k) % n);
      try {
        progressed |= readTurn(f);
      } catch (IOException e) {
        log.log(Level.FINE, "reading " + f.path + " failed; retried next turn", e);
        if (f.isOpen()) {
          f.close();
          openFiles--;
        }
      }
    }
    cursor = next;
    metrics.filesOpen(openFiles);
    return progressed;
  }

  private boolean readTurn(TailedFile f) throws IOException, InterruptedException {
    if (!f.isOpen()) {
      if (!f.matched || f.knownSize == f.readOffset || !open(f)) {
        return false;
      }
    }
    long size = f.channel.size();
    if (size < f.readOffset || (size > f.readOffset && !headMatches(f, size))) {
      replaced(f);
      size = f.channel.size();
    }
    f.knownSize = size;
    f.identity.size(size);
    if (size <= f.readOffset) {
      return false;
    }
    int want = (int) Math.min(buf.length, size - f.readOffset);
    int n = f.channel.read(ByteBuffer.wrap(buf, 0, want), f.readOffset);
    if (n <= 0) {
      return false;
    }
    long at = f.readOffset;
    // Stops after the line whose batch filled the queue: the rest of the chunk is read again once there
    // is room, so no more than one full batch waits outside the queue (and memory stays bounded).
    int used = split(f, n, at, batcher::backlogged);
    f.readOffset = at + used;
    metrics.bytesRead.increment(used);
    // Taken after the hand-off, which blocks while the collector is away: that wait is not quiet time.
    long now = clockNanos.getAsLong();
    f.lastDataNanos = now;
    f.lastReadNanos = now;
    return true;
  }

  /** Whether the file still starts with the fingerprint; grows a short fingerprint as the file grows. */
  private boolean headMatches(TailedFile f, long size) throws IOException {
    Fingerprint fp = f.identity.fingerprint();
    int want = (int) Math.min(config.fingerprintBytes(), size);
    if (fp.length() == want) {
      return fp.matches(readHead(f.channel, fp.length()));
    }
    byte[] head = readHead(f.channel, want);
    if (fp.length() == 0 || fp.sameContent(head)) {
      if (head.length > fp.length()) {
        f.identity.setFingerprint(head);
      }
      return true;
    }
    return false;
  }

  private static byte[] readHead(FileChannel channel, int length) throws IOException {
    ByteBuffer head = ByteBuffer.allocate(length);
    while (head.hasRemaining()) {
      if (channel.read(head, head.position()) <= 0) {
        break;
      }
    }
    return Arrays.copyOf(head.array(), head.position());
  }

  private static byte[] readHead(Path path, int length) {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      return readHead(channel, length);
    } catch (IOException e) {
      return null;
    }
  }

  private void line(TailedFile f, byte[] bytes, int off, int len, boolean truncated, long end) throws InterruptedException {
    uncountedLines++;
    if (truncated) {
      metrics.linesTruncated.increment();
    }
    if (!f.assembler.joinsLines()) {
      // One line, one entry: its bytes go as they are, checked and parsed on the encoding thread.
      batcher.add(records.entry(Arrays.copyOfRange(bytes, off, off + len), truncated, f.identity.fileAttributes(),
          observedAt),
          f.identity, end, len);
      return;
    }
    Utf8Text.Decoded text = Utf8Text.decode(bytes, off, len);
    f.assembler.line(text.text(), truncated, text.invalid(), len, end, (t, tr, inv, b, e) -> entry(f.identity, t, tr, inv, b, e));
  }

  private void entry(FileIdentity id, String text, boolean truncated, boolean invalid, int bytes, long end)
      throws InterruptedException {
    batcher.add(records.entry(text, truncated, invalid, id.fileAttributes()), id, end, bytes);
  }

  /**
   * Splits the first {@code n} bytes of the read buffer, read from {@code f} at {@code at}, into its lines,
   * stopping after a line once {@code stop} says so; returns how many bytes were used. The lines are
   * observed now, and counted once.
   */
  private int split(TailedFile f, int n, long at, BooleanSupplier stop) throws InterruptedException {
    observedAt = records.now();
    int used = f.splitter.feed(buf, 0, n, at, (bytes, off, len, truncated, end) -> line(f, bytes, off, len, truncated, end),
        stop);
    countLines();
    return used;
  }

  private void countLines() {
    if (uncountedLines > 0) {
      metrics.linesRead.increment(uncountedLines);
      uncountedLines = 0;
    }
  }

  /** Ships the held partial line and pending entry of a file that has been quiet for the flush time. */
  private void flushQuiet(long now) throws InterruptedException {
    long quiet = config.flushAfter().toNanos();
    for (TailedFile f : files) {
      // Only at the end of what the file holds: bytes still unread may finish the line or the entry.
      if (now - f.lastDataNanos >= quiet && f.readOffset >= f.knownSize
          && (f.splitter.hasPartial() || f.assembler.hasPending())) {
        flushFile(f);
      }
    }
  }

  private void flushFile(TailedFile f) throws InterruptedException {
    observedAt = records.now();
    f.splitter.flush((bytes, off, len, truncated, end) -> line(f, bytes, off, len, truncated, end), f.readOffset);
    countLines();
    f.assembler.flush((t, tr, inv, b, e) -> entry(f.identity, t, tr, inv, b, e));
  }

  /**
   * The content under this inode is not what was being read: copy-truncate, or the inode was reused. The
   * old content is finished from its copy when one sits beside it; the new content is read from 0.
   */
  private void replaced(TailedFile f) throws IOException, InterruptedException {
    FileIdentity old = f.identity;
    Optional<Path> copy = findCopy(f.path.getParent(), old, f.fileKey);
    if (copy.isPresent()) {
      drainCopy(f, copy.get());
    } else {
      if (f.readOffset < old.size() || f.splitter.hasPartial()) {
        log.warning(() -> f.path + " was truncated and no copy of it was found beside it; bytes after offset "
            + f.readOffset + " of the old content are lost");
        metrics.truncationsUnrecovered.increment();
      }
      flushFile(f);
      old.retire(f.readOffset);
      batcher.advance(old, f.readOffset);
    }
    long size = f.channel.size();
    byte[] head = readHead(f.channel, (int) Math.min(config.fingerprintBytes(), size));
    f.identity = new FileIdentity(head, 0, f.path.toString(), old.fileAttributes());
    checkpoints.track(f.identity);
    f.splitter.reset();
    f.assembler.reset();
    f.readOffset = 0;
    log.fine(() -> f.path + ": content replaced (truncated or new file under the same inode); reading from 0");
  }

  /** Reads the old content's unread part from its copy, then keeps the copy followed as that content. */
  private void drainCopy(TailedFile f, Path copyPath) throws IOException, InterruptedException {
    Object copyKey = LogPaths.fileKey(copyPath);
    FileChannel channel = FileChannel.open(copyPath, StandardOpenOption.READ);
    long offset = f.readOffset;
    long size = channel.size();
    while (offset < size) {
      int n = channel.read(ByteBuffer.wrap(buf, 0, (int) Math.min(buf.length, size - offset)), offset);
      if (n <= 0) {
        break;
      }
      long at = offset;
      offset += n;
      metrics.bytesRead.increment(n);
      split(f, n, at, () -> false);
    }
    TailedFile copy = new TailedFile(copyKey, copyPath, f.identity, offset, config.maxLineBytes(),
        config.multilineStart(), clockNanos.getAsLong());
    // The copy's lines continue the entry in progress, so the splitter state moves over with them.
    f.readOffset = offset;
    flushFile(f);
    copy.channel = channel;
    openFiles++;
    copy.knownSize = size;
    copy.matched = false;
    f.identity.path(copyPath.toString());
    if (copyKey != null && !byKey.containsKey(copyKey)) {
      byKey.put(copyKey, copy);
      files.add(copy);
    } else {
      copy.close();
      openFiles--;
    }
  }

  /** A regular file in {@code dir}, other than {@code except}, that starts with the identity's fingerprint. */
  private Optional<Path> findCopy(Path dir, FileIdentity identity, Object except) {
    Fingerprint fp = identity.fingerprint();
    if (dir == null || fp.length() == 0) {
      return Optional.empty();
    }
    try (Stream<Path> siblings = Files.list(dir)) {
      return siblings
          .filter(Files::isRegularFile)
          .filter(p -> !p.equals(dir.resolve("checkpoints.json")))
          .filter(p -> {
            Object key = LogPaths.fileKey(p);
            return key != null && !key.equals(except) && !byKey.containsKey(key);
          })
          .filter(p -> {
            return fp.matches(readHead(p, fp.length()));
          })
          .findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private boolean open(TailedFile f) {
    if (openFiles >= config.maxOpenFiles() && !evictOne(f)) {
      return false;
    }
    try {
      FileChannel channel = FileChannel.open(f.path, StandardOpenOption.READ);
      if (!f.fileKey.equals(LogPaths.fileKey(f.path))) {
        channel.close(); // renamed since the scan; the next scan finds it again
        return false;
      }
      f.channel = channel;
      openFiles++;
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Closes the handle of an idle file that can be reopened by its path, least recently read first. */
  private boolean evictOne(TailedFile except) {
    Optional<TailedFile> idle = files.stream()
        .filter(f -> f != except && f.isOpen() && f.matched && f.readOffset >= f.knownSize
            && !f.splitter.hasPartial() && !f.assembler.hasPending())
        .min(Comparator.comparingLong(f -> f.lastReadNanos));
    idle.ifPresent(f -> {
      f.close();
      openFiles--;
    });
    return idle.isPresent();
  }

  private void scan(boolean first) throws InterruptedException {
    Map<Object, LogPaths.Found> found = paths.scan();
    long now = clockNanos.getAsLong();
    boolean followedNew = false;
    for (TailedFile f : files) {
      f.matched = false;
    }
    for (LogPaths.Found candidate : found.values()) {
      TailedFile known = byKey.get(candidate.fileKey());
      if (known != null) {
        known.matched = true;
        known.knownSize = candidate.size();
        known.identity.size(candidate.size());
        if (!known.path.equals(candidate.path())) {
          known.path = candidate.path();
          known.identity.path(candidate.path().toString());
        }
        continue;
      }
      byte[] head = readHead(candidate.path(), (int) Math.min(config.fingerprintBytes(), candidate.size()));
      if (head == null) {
        continue;
      }
      if (head.length > 0 && files.stream().anyMatch(f -> f.identity.sameContent(head))) {
        continue; // a copy of content being followed (copy-truncate in progress): read through the original
      }
      Optional<Checkpoint> resumed = head.length > 0 ? checkpoints.claim(head) : Optional.empty();
      if (resumed.isEmpty()) {
        resumed = checkpoints.claimEmpty(candidate.path().toString());
      }
      long start = resumed.map(Checkpoint::offset).orElse(first && config.startAtEnd() ? candidate.size() : 0L);
      if (start > candidate.size()) {
        start = 0; // same first bytes but shorter than the position: rewritten, so read it again
      }
      TailedFile f = follow(candidate.fileKey(), candidate.path(), head, start, true, now);
      f.knownSize = candidate.size();
      followedNew = true;
      if (openFiles < config.maxOpenFiles()) {
        open(f); // held from now on: a rename or delete before the first read (reading paused) loses nothing
      }
    }
    if (first) {
      resumeRotatedAway(now);
    }
    if (followedNew) {
      // Saved now, not at the next commit: a file that stays empty (or, with LOG_START_AT=end, has nothing
      // new) would otherwise have no saved position when the forwarder is killed, and be skipped to its
      // end after the restart.
      writeCheckpoints();
    }
    for (TailedFile f : files) {
      if (!f.matched && !f.isOpen()) {
        // Renamed while its handle was closed for the handle limit (or idle): the same file, known by its
        // file key, is found again beside its old path and read to its end. It may have grown since.
        sameFileIn(f.path.getParent(), f.fileKey).ifPresent(p -> reopenAt(f, p));
      }
    }
    metrics.filesWatched(files.size());
    metrics.filesOpen(openFiles);
    Map<String, List<TailedFile>> byPath = new HashMap<>();
    for (TailedFile f : files) {
      byPath.computeIfAbsent(f.identity.path(), p -> new ArrayList<>()).add(f);
    }
    Map<String, ToDoubleFunction<String>> lag = new HashMap<>();
    byPath.forEach((path, group) -> lag.put(path, p -> group.stream().mapToDouble(TailedFile::lag).sum()));
    metrics.updateLag(lag);
  }

  private void writeCheckpoints() {
    try {
      checkpoints.write();
    } catch (java.io.UncheckedIOException e) {
      // The next commit writes every position again; reading must not stop over it.
      log.warning(e.getMessage() + ": " + e.getCause());
    }
  }

  /** The file in {@code dir} whose file key is {@code fileKey} (the same file under a new name). */
  private static Optional<Path> sameFileIn(Path dir, Object fileKey) {
    if (dir == null || fileKey == null) {
      return Optional.empty();
    }
    try (Stream<Path> siblings = Files.list(dir)) {
      return siblings.filter(p -> fileKey.equals(LogPaths.fileKey(p))).findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private void reopenAt(TailedFile f, Path path) {
    if (f.fileKey.equals(LogPaths.fileKey(path))) {
      try {
        f.channel = FileChannel.open(path, StandardOpenOption.READ);
        f.path = path;
        openFiles++;
      } catch (IOException e) {
        // gone again
      }
    }
  }

  /**
   * Positions saved before a restart whose file no longer matches the globs (rotated away while the
   * forwarder was down): the file is looked for beside its old path and read to its end.
   */
  private void resumeRotatedAway(long now) {
    for (Checkpoint c : checkpoints.unclaimed()) {
      Path dir = c.path() == null ? null : Path.of(c.path()).getParent();
      checkpoints.forget(c);
      // An empty file's position has no fingerprint to look for (any file would match it).
      if (dir == null || c.fingerprintLength() == 0 || !Files.isDirectory(dir)) {
        continue;
      }
      try (Stream<Path> siblings = Files.list(dir)) {
        Optional<Path> match = siblings
            .filter(Files::isRegularFile)
            .filter(p -> !byKey.containsKey(LogPaths.fileKey(p)))
            .filter(p -> {
              byte[] head = readHead(p, c.fingerprintLength());
              return head != null && head.length == c.fingerprintLength()
                  && FileIdentity.sha256(head, head.length).equals(c.fingerprintSha256());
            })
            .findFirst();
        if (match.isPresent()) {
          Path p = match.get();
          Object key = LogPaths.fileKey(p);
          byte[] head = readHead(p, config.fingerprintBytes());
          long size = Files.size(p);
          if (key != null && head != null && size >= c.offset()) {
            TailedFile f = follow(key, p, head, c.offset(), false, now);
            f.identity.path(c.path());
            f.knownSize = size;
            if (!open(f)) {
              log.warning(() -> "cannot open " + p + " to finish it");
            }
            log.info(() -> "finishing " + p + " (was " + c.path() + ") from offset " + c.offset());
          }
        }
      } catch (IOException e) {
        // directory gone
      }
    }
  }

  private TailedFile follow(Object key, Path path, byte[] head, long start, boolean matched, long now) {
    String name = path.getFileName() == null ? path.toString() : path.getFileName().toString();
    FileIdentity identity = new FileIdentity(head, start, path.toString(), FileAttributes.of(path.toString(), name));
    TailedFile f = new TailedFile(key, path, identity, start, config.maxLineBytes(), config.multilineStart(), now);
    f.matched = matched;
    checkpoints.track(identity);
    byKey.put(key, f);
    files.add(f);
    return f;
  }

  /** Files no longer matched (renamed away, deleted) are dropped once read to their end and quiet. */
  private void removeFinished(long now) throws InterruptedException {
    long wait = config.rotateWait().toNanos();
    for (Iterator<TailedFile> it = files.iterator(); it.hasNext(); ) {
      TailedFile f = it.next();
      if (f.matched) {
        continue;
      }
      boolean drained = !f.isOpen() || f.readOffset >= sizeOf(f.channel);
      if (drained && now - f.lastDataNanos >= wait) {
        if (!f.isOpen() && f.readOffset < f.knownSize) {
          // Closed, and not found again by the scan: deleted while its handle was closed. What it held
          // past the read position is gone; say so rather than retire it as if read.
          long lost = f.knownSize - f.readOffset;
          log.warning(() -> f.path + " disappeared while its handle was closed; " + lost + " bytes were not read");
          metrics.truncationsUnrecovered.increment();
        }
        flushFile(f);
        f.identity.retire(f.readOffset);
        batcher.advance(f.identity, f.readOffset);
        if (f.isOpen()) {
          f.close();
          openFiles--;
        }
        byKey.remove(f.fileKey);
        it.remove();
      }
    }
    cursor = files.isEmpty() ? 0 : cursor % files.size();
  }

  private static long sizeOf(FileChannel channel) {
    try {
      return channel.size();
    } catch (IOException e) {
      return 0;
    }
  }
}
