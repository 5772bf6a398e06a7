package dev.sidecars.logforwarder.tail;

import dev.sidecars.logforwarder.LogForwarderConfig;
import dev.sidecars.logforwarder.LogForwarderMetrics;
import dev.sidecars.logforwarder.checkpoint.Checkpoint;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.parse.RecordFactory;
import dev.sidecars.logforwarder.parse.Utf8Text;
import dev.sidecars.logforwarder.ship.Batcher;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
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

/**
 * The reading side: takes the files {@link Discovery} finds (on its own thread, opened at once), reads
 * every followed file in turn (a bounded chunk each, so one busy file cannot starve the others), cuts
 * lines, joins entries, builds records and hands them to the {@link Batcher}. It owns every {@link
 * TailedFile}; only the committed offsets are shared with the shipper. What happens to a file once it is
 * rotated, truncated or deleted is {@link Rotations}' part; the bound on handles is {@link OpenFiles}'.
 *
 * <p>While the shipper's queue is full (collector slow or away) nothing more is read (a read chunk is
 * left off after the line that filled it), but files keep being found and opened, and rotated files held,
 * so a file that appears and is rotated away during an outage is read once the collector is back.
 */
public final class Tailer implements Runnable, Rotations.Reading {
  private static final Logger log = Logger.getLogger(Tailer.class.getName());
  private static final int CHUNK = 256 * 1024;
  // While reading is paused, how often what discovery found is taken in (it may need a handle made free).
  private static final long ADOPT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  private final LogForwarderConfig config;
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
  private final FollowedFiles files;
  private final OpenFiles handles;
  private final Rotations rotations;
  private final Discovery discovery;
  private final byte[] buf = new byte[CHUNK];
  private final CountDownLatch done = new CountDownLatch(1);
  private volatile boolean stopping;
  private volatile long stopReadingBy;
  private volatile boolean tailing;
  private volatile Throwable failure;
  private volatile Thread thread;
  private int cursor;
  // A file first read since the positions were written had no fingerprint in them: written again soon.
  private boolean fingerprintLearnt;

  public Tailer(LogForwarderConfig config, CheckpointStore checkpoints, RecordFactory records, Batcher batcher,
      LogForwarderMetrics metrics, LongSupplier clockNanos) {
    this.config = config;
    this.checkpoints = checkpoints;
    this.records = records;
    this.batcher = batcher;
    this.metrics = metrics;
    this.clockNanos = clockNanos;
    this.files = new FollowedFiles(config, checkpoints);
    this.handles = new OpenFiles(config.maxOpenFiles(), metrics);
    this.rotations = new Rotations(config, files, handles, checkpoints, batcher, metrics, this);
    this.discovery = new Discovery(new LogPaths(config.paths(), config.excludes()), config.rescanInterval(), handles,
        files.keys(), clockNanos, this::wake);
  }

  /** True once the first scan is done and reading has begun. */
  public boolean tailing() {
    return tailing;
  }

  /** Why reading stopped unexpectedly, if it did. */
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  private void wake() {
    Thread t = thread;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  @Override
  public void run() {
    thread = Thread.currentThread();
    Thread discovering = new Thread(discovery, "log-forwarder-discovery");
    discovering.setDaemon(true);
    discovering.start();
    try {
      while (!tailing && !stopping) {
        adopt();
        if (!tailing) {
          LockSupport.parkNanos(this, ADOPT_NANOS);
        }
      }
      while (true) {
        if (Thread.interrupted()) {
          throw new InterruptedException(); // closed without a drain
        }
        long now = clockNanos.getAsLong();
        adopt();
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
        if (batcher.backlogged()) {
          // The queue is full (collector slow or away): read nothing more, so memory stays bounded. Files
          // are still found and opened meanwhile (discovery's thread), and taken in here often, since one
          // found while every handle is taken needs one made free.
          batcher.awaitRoom(ADOPT_NANOS);
          continue;
        }
        boolean progressed = readRound();
        if (!batcher.backlogged()) {
          flushQuiet(clockNanos.getAsLong());
          rotations.finishRotatedAway(clockNanos.getAsLong());
          batcher.flushIfDue();
        }
        if (!progressed && !stopping) {
          LockSupport.parkNanos(this, config.pollInterval().toNanos()); // woken early by discovery
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
      try {
        discovery.stop();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      for (TailedFile f : files) {
        handles.close(f);
        handles.close(files.releaseCopy(f));
      }
      metrics.filesOpen(0);
      done.countDown();
    }
  }

  /** Stops reading once no file has more bytes or at {@code readUntilNanos}, then hands over what is held. */
  public void stop(long readUntilNanos) {
    stopReadingBy = readUntilNanos;
    stopping = true;
    wake();
  }

  public boolean awaitDone(long millis) throws InterruptedException {
    return done.await(millis, TimeUnit.MILLISECONDS);
  }

  /** Takes in what discovery found: new files (usually opened already), and the result of each scan. */
  private void adopt() throws InterruptedException {
    boolean followedNew = false;
    for (Object finding; (finding = discovery.poll()) != null; ) {
      if (finding instanceof Discovery.Seen seen) {
        followedNew |= seen(seen.found(), seen.channel(), seen.initial(), seen.seenNanos());
      } else if (finding instanceof Discovery.Scan scan) {
        followedNew |= scanned(scan);
      } else if (finding instanceof Discovery.Sibling sibling) {
        rotations.sibling(sibling.path(), sibling.fileKey(), sibling.channel(), sibling.seenNanos());
      }
    }
    rotations.settleSiblings(clockNanos.getAsLong());
    try {
      followedNew |= rotations.learnFirstBytes();
    } catch (IOException e) {
      // read again at the file's next turn
    }
    if (followedNew) {
      // Saved now, not at the next commit: a file that stays empty (or, with LOG_START_AT=end, has nothing
      // new) would otherwise have no saved position when the forwarder is killed, and be skipped to its
      // end after the restart.
      writeCheckpoints();
    }
  }

  /** A matching file: followed from where its saved position (or LOG_START_AT) says; true if it is new. */
  private boolean seen(LogPaths.Found found, FileChannel opened, boolean initial, long seenNanos)
      throws InterruptedException {
    long now = clockNanos.getAsLong();
    TailedFile known = files.get(found.fileKey());
    if (known != null) {
      if (opened != null) {
        handles.closeUnowned(opened);
      }
      known.matched = true;
      known.lastSeenNanos = seenNanos;
      if (!known.path.equals(found.path())) {
        known.path = found.path(); // renamed within the globs
        known.identity.path(found.path().toString());
      }
      return false;
    }
    FileChannel channel = opened != null ? opened : handles.tryOpenForNew(found);
    byte[] head;
    long size;
    try {
      size = channel != null ? channel.size() : found.size();
      int want = (int) Math.min(config.fingerprintBytes(), size);
      head = channel != null ? Rotations.readHead(channel, want) : Rotations.readHead(found.path(), want);
    } catch (IOException e) {
      head = null;
      size = 0;
    }
    byte[] first = head;
    if (first == null) {
      if (channel != null) {
        handles.closeUnowned(channel); // gone already
      }
      return false;
    }
    Optional<TailedFile> original = first.length == 0 ? Optional.empty() : rotations.originalOf(first, null);
    if (original.isPresent()) {
      // A copy of content being followed (copy-truncate in progress): read through the original, and
      // the copy held, in case the original is truncated and the copy rotated away before that is seen.
      if (channel != null) {
        rotations.holdCopy(original.get(), new TailedFile.HeldCopy(found.fileKey(), found.path(), channel));
      }
      return false;
    }
    Optional<Checkpoint> resumed = first.length > 0 ? checkpoints.claim(first) : Optional.empty();
    if (resumed.isEmpty()) {
      resumed = checkpoints.claimEmpty(found.path().toString());
    }
    boolean skip = initial && config.startAtEnd() && !checkpoints.damaged();
    long start = resumed.map(Checkpoint::offset).orElse(skip ? size : 0L);
    if (start > size) {
      start = 0; // same first bytes but shorter than the position: rewritten, so read it again
    }
    if (initial && checkpoints.damaged()) {
      log.info(() -> "no saved position for " + found.path() + " (the positions file was damaged): reading it"
          + " from offset 0 of " + found.size());
    }
    TailedFile f = files.follow(found.fileKey(), found.path(), first, start, true, now);
    f.knownSize = size;
    f.lastSeenNanos = seenNanos;
    if (channel != null) {
      handles.adopt(f, channel);
    } else {
      // No handle was free: one is made free for it, at worst a deleted file's (counted and logged), since
      // a new file not held may be rotated away before its turn.
      handles.open(f, files, true, rotations::abandon);
    }
    return true;
  }

  /** The globs were expanded: which files still match, where they are, and what the gauges show. */
  private boolean scanned(Discovery.Scan scan) throws InterruptedException {
    boolean followedNew = false;
    for (TailedFile f : files) {
      if (f.lastSeenNanos < scan.startedNanos()) {
        f.matched = false;
      }
    }
    for (LogPaths.Found found : scan.found().values()) {
      TailedFile known = files.get(found.fileKey());
      if (known == null) {
        if (!files.isHeldCopy(found.fileKey())) {
          // passed over before (a copy not held, unreadable): looked at once more
          followedNew |= seen(found, null, scan.initial(), scan.startedNanos());
        }
        continue;
      }
      known.matched = true;
      known.knownSize = found.size();
      known.identity.size(found.size());
      if (!known.path.equals(found.path())) {
        known.path = found.path();
        known.identity.path(found.path().toString());
      }
    }
    if (scan.initial()) {
      rotations.resumeRotatedAway(clockNanos.getAsLong());
      tailing = true;
    }
    rotations.afterScan();
    checkpoints.verify();
    metrics.filesWatched(files.size());
    metrics.filesOpen(handles.open());
    Map<String, List<TailedFile>> byPath = new HashMap<>();
    for (TailedFile f : files) {
      byPath.computeIfAbsent(f.identity.path(), p -> new ArrayList<>()).add(f);
    }
    Map<String, ToDoubleFunction<String>> lag = new HashMap<>();
    byPath.forEach((path, group) -> lag.put(path, p -> group.stream().mapToDouble(TailedFile::lag).sum()));
    metrics.updateLag(lag);
    return followedNew;
  }

  private void writeCheckpoints() {
    try {
      checkpoints.write();
    } catch (java.io.UncheckedIOException e) {
      // Logged by the store; the next commit writes every position again. Reading must not stop over it.
    }
  }

  /** One turn for every file; true if any file had new bytes. */
  private boolean readRound() throws InterruptedException {
    boolean progressed = false;
    List<TailedFile> round = new ArrayList<>(files); // a file may stop being followed during its turn
    int n = round.size();
    cursor = n == 0 ? 0 : cursor % n;
    int next = n == 0 ? 0 : (cursor + 1) % n;
    for (int k = 0; k < n; k++) {
      if (batcher.backlogged()) {
        next = (cursor + k) % n; // the files not read this round go first next time
        break;
      }
      TailedFile f = round.get((cursor + k) % n);
      try {
        progressed |= readTurn(f);
      } catch (IOException e) {
        log.log(Level.FINE, "reading " + f.path + " failed; retried next turn", e);
        handles.close(f);
      }
    }
    cursor = next;
    metrics.filesOpen(handles.open());
    if (fingerprintLearnt) {
      // Saved now rather than at the next commit: a file known by its path alone cannot be found after
      // a restart once it is renamed.
      fingerprintLearnt = false;
      writeCheckpoints();
    }
    return progressed;
  }

  private boolean readTurn(TailedFile f) throws IOException, InterruptedException {
    if (f.retired) {
      return false;
    }
    if (!f.isOpen()) {
      // Closed for the handle bound: reopened once it has more to read, never at another file's expense.
      if (f.knownSize <= f.readOffset || !handles.open(f, files, false, rotations::abandon)) {
        return false;
      }
    }
    long size = f.channel.size();
    if (rotations.becameCopy(f, size)) {
      return false;
    }
    boolean unknown = f.identity.fingerprint().length() == 0;
    if (size < f.readOffset || rotations.headDiffersFromCopy(f, size)
        || (size > f.readOffset && !rotations.headMatches(f, size))) {
      rotations.replaced(f);
      size = f.channel.size();
    }
    fingerprintLearnt |= unknown && f.identity.fingerprint().length() > 0;
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

  @Override
  public long readAll(TailedFile f, FileChannel channel, long from, long to) throws IOException, InterruptedException {
    long offset = from;
    while (offset < to) {
      int n = channel.read(ByteBuffer.wrap(buf, 0, (int) Math.min(buf.length, to - offset)), offset);
      if (n <= 0) {
        break;
      }
      long at = offset;
      offset += n;
      metrics.bytesRead.increment(n);
      split(f, n, at, () -> false);
    }
    return offset;
  }

  @Override
  public void flush(TailedFile f) throws InterruptedException {
    flushFile(f);
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
}
