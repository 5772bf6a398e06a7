package dev.sidecars.logforwarder.tail;

import dev.sidecars.logforwarder.LogForwarderConfig;
import dev.sidecars.logforwarder.LogForwarderMetrics;
import dev.sidecars.logforwarder.checkpoint.Checkpoint;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.checkpoint.Fingerprint;
import dev.sidecars.logforwarder.ship.Batcher;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * What happens to a file after it was found: rotated by rename (it leaves {@code LOG_PATHS} and is read
 * to its end through its handle), deleted (the handle holds it), truncated in place (copy-truncate: the
 * unread part is taken from the copy beside it), or rotated while the forwarder was down (found again by
 * fingerprint). A file that left the globs is held until the collector accepted everything in it: the
 * renamed and deleted files are the buffer of a collector outage.
 */
final class Rotations {
  private static final Logger log = Logger.getLogger(Rotations.class.getName());

  /** The reading thread's part: reading a range as lines of a file, and shipping what it holds. */
  interface Reading {
    /** Reads {@code [from, to)} of {@code channel} as the next lines of {@code f}; returns where it stopped. */
    long readAll(TailedFile f, FileChannel channel, long from, long to) throws IOException, InterruptedException;

    /** Ships the partial line and pending entry {@code f} holds. */
    void flush(TailedFile f) throws InterruptedException;
  }

  private final LogForwarderConfig config;
  private final FollowedFiles files;
  private final OpenFiles handles;
  private final CheckpointStore checkpoints;
  private final Batcher batcher;
  private final LogForwarderMetrics metrics;
  private final Reading reading;
  // Open files deleted from their directory, as found at the last scan: their disk is held by the handle.
  private volatile List<TailedFile> heldDeleted = List.of();
  // Files created beside followed ones, held until their first bytes tell whether they are a copy.
  private final List<Sibling> siblings = new ArrayList<>();

  private record Sibling(TailedFile.HeldCopy file, long seenNanos) {}

  Rotations(LogForwarderConfig config, FollowedFiles files, OpenFiles handles, CheckpointStore checkpoints,
      Batcher batcher, LogForwarderMetrics metrics, Reading reading) {
    this.config = config;
    this.files = files;
    this.handles = handles;
    this.checkpoints = checkpoints;
    this.batcher = batcher;
    this.metrics = metrics;
    this.reading = reading;
    metrics.heldDeletedBytes(this::heldDeletedBytes);
  }

  /** Disk held by deleted files kept open; read at scrape time, so it falls as soon as they are closed. */
  private long heldDeletedBytes() {
    long sum = 0;
    for (TailedFile f : heldDeleted) {
      if (f.isOpen()) {
        sum += f.currentSize();
      }
    }
    return sum;
  }

  /**
   * After a scan: each file no longer matched is looked for beside its old path. One deleted while its
   * handle was closed (for the handle bound) has lost its unread bytes; one renamed while closed is
   * reopened under its new name when a handle is free; one open and gone is held as the buffer.
   */
  void afterScan() throws InterruptedException {
    List<TailedFile> deleted = new ArrayList<>();
    Map<Path, Map<Object, Path>> listings = new HashMap<>();
    for (TailedFile f : new ArrayList<>(files)) {
      if (f.matched || f.retired) {
        if (f.retired && f.deleted && f.isOpen()) {
          deleted.add(f);
        }
        continue;
      }
      Optional<Path> now = f.locate(listings);
      if (now.isPresent()) {
        f.path = now.get();
        f.deleted = false;
        if (!f.isOpen()) {
          f.knownSize = Math.max(f.knownSize, sizeOf(now.get()));
          handles.open(f, files, false, this::abandon);
        }
      } else if (f.isOpen()) {
        f.deleted = true;
        deleted.add(f);
      } else if (f.readOffset < f.knownSize || f.splitter.hasPartial()) {
        handles.lose(f, "its handle had been closed for LOG_MAX_OPEN_FILES=" + config.maxOpenFiles());
        abandon(f);
      }
    }
    heldDeleted = List.copyOf(deleted);
  }

  /** Ends a file given up: what it holds is shipped, its position retired where reading stopped. */
  void abandon(TailedFile f) throws InterruptedException {
    reading.flush(f);
    f.identity.retire(f.readOffset);
    batcher.advance(f.identity, f.readOffset);
    remove(f);
  }

  private void remove(TailedFile f) {
    handles.close(f);
    handles.close(files.releaseCopy(f));
    files.remove(f);
  }

  /**
   * Files no longer matched (renamed away, deleted) that were read to their end and stayed quiet for
   * {@code LOG_ROTATE_WAIT}: their last partial line is shipped and their position retired; their handle is
   * kept until the collector accepted everything, then closed.
   */
  void finishRotatedAway(long now) throws InterruptedException {
    long wait = config.rotateWait().toNanos();
    for (TailedFile f : new ArrayList<>(files)) {
      if (f.matched) {
        continue;
      }
      if (!f.retired) {
        if (f.isOpen() && f.readOffset >= f.currentSize() && now - f.lastDataNanos >= wait) {
          reading.flush(f);
          f.identity.retire(f.readOffset);
          batcher.advance(f.identity, f.readOffset);
          f.retired = true;
        }
      }
      if (f.retired && f.identity.finished()) {
        remove(f);
      }
    }
  }

  /** Whether the file still starts with its fingerprint; grows a short fingerprint as the file grows. */
  boolean headMatches(TailedFile f, long size) throws IOException {
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

  /**
   * A file created beside followed ones, matching no glob: held open from now on (if a handle is free),
   * since it may be the copy a copy-truncate rotation is writing, and be rotated away before the
   * truncation of its original is noticed (reading may be paused).
   */
  void sibling(Path path, Object key, FileChannel channel, long seenNanos) {
    if (files.get(key) != null || files.isHeldCopy(key) || siblings.stream().anyMatch(s -> s.file().fileKey().equals(key))) {
      handles.closeUnowned(channel);
      return;
    }
    siblings.add(new Sibling(new TailedFile.HeldCopy(key, path, channel), seenNanos));
  }

  /**
   * Reads the first bytes of followed files found empty and not read yet (reading may be paused) and
   * saves them with their position: without a fingerprint, a file renamed while the forwarder is down
   * cannot be found after a restart. True if any was learnt (the positions are then to be written).
   */
  boolean learnFirstBytes() throws IOException {
    boolean learnt = false;
    for (TailedFile f : new ArrayList<>(files)) { // one may turn out to be a copy, and stop being followed
      if (f.isOpen() && f.readOffset == 0 && f.identity.fingerprint().length() == 0 && f.copy == null) {
        long size = f.channel.size();
        if (size > 0 && !becameCopy(f, size)) {
          f.identity.setFingerprint(readHead(f.channel, (int) Math.min(config.fingerprintBytes(), size)));
          learnt = true;
        }
      }
    }
    return learnt;
  }

  /**
   * Decides about the siblings held, once they have bytes: a copy of followed content is held as that
   * file's copy, any other is closed; one still empty after {@code LOG_ROTATE_WAIT} is closed too.
   */
  void settleSiblings(long now) {
    for (java.util.Iterator<Sibling> it = siblings.iterator(); it.hasNext(); ) {
      Sibling s = it.next();
      byte[] head;
      try {
        head = readHead(s.file().channel(), config.fingerprintBytes());
      } catch (IOException e) {
        head = null;
      }
      if (head != null && head.length == 0 && now - s.seenNanos() < config.rotateWait().toNanos()) {
        continue;
      }
      it.remove();
      Optional<TailedFile> original = head == null || head.length == 0 ? Optional.empty() : originalOf(head, null);
      if (original.isEmpty() && head != null && head.length > 0) {
        original = unreadBeside(s.file().path(), modifiedMillis(s.file().path(), s.file().fileKey()));
      }
      if (original.isPresent()) {
        holdCopy(original.get(), s.file());
      } else {
        handles.close(s.file());
      }
    }
  }

  /** The followed file, other than {@code except}, whose content {@code head} (first bytes of some file) shows. */
  Optional<TailedFile> originalOf(byte[] head, TailedFile except) {
    for (TailedFile f : files) {
      if (f != except && !f.retired && f.identity.sameContent(head)) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }

  /**
   * A followed file beside {@code path} not read at all yet, so its content is not known (found empty, and
   * reading paused since): a copy made of it now cannot be recognised by fingerprint, so it is held as that
   * file's possible copy; whether it is one is told once the file is read ({@link #headDiffersFromCopy}).
   */
  private Optional<TailedFile> unreadBeside(Path path, long modifiedMillis) {
    TailedFile best = null;
    for (TailedFile f : files) {
      // A copy of it is written after it was found; an older file merely renamed beside it is not.
      if (f.isOpen() && !f.retired && f.readOffset == 0 && f.identity.fingerprint().length() == 0
          && modifiedMillis >= f.followedAtMillis
          && java.util.Objects.equals(f.path.getParent(), path.getParent())
          && (best == null || f.lastSeenNanos > best.lastSeenNanos)) {
        best = f;
      }
    }
    return Optional.ofNullable(best);
  }

  /**
   * For a file read from its start with no fingerprint yet and a copy held: whether its first bytes now
   * differ from the copy's, i.e. it was truncated (and written again) after the copy was made, before it
   * could be read. Its old content is then in the copy.
   */
  boolean headDiffersFromCopy(TailedFile f, long size) throws IOException {
    if (f.copy == null || f.identity.fingerprint().length() != 0 || f.readOffset != 0) {
      return false;
    }
    int want = (int) Math.min(config.fingerprintBytes(), size);
    byte[] head = readHead(f.channel, want);
    byte[] copyHead = readHead(f.copy.channel(), want);
    int n = Math.min(head.length, copyHead.length);
    return n == 0 ? copyHead.length > 0 : !Arrays.equals(head, 0, n, copyHead, 0, n);
  }

  /** Holds {@code copy} as {@code original}'s copy, closing the one held before (or this one, if the same file). */
  void holdCopy(TailedFile original, TailedFile.HeldCopy copy) {
    if (original.copy != null && original.copy.fileKey().equals(copy.fileKey())) {
      handles.close(copy);
      return;
    }
    log.fine(() -> "holding " + copy.path() + " " + copy.fileKey() + " as the copy of " + original.path + " "
        + original.fileKey);
    handles.close(files.holdCopy(original, copy));
  }

  /**
   * A followed file, found empty, whose first bytes now show another followed file's content: the copy a
   * copy-truncate rotation was writing when it was found. It is held as that file's copy instead of being
   * read as content of its own (which would send those lines twice); true if so.
   */
  boolean becameCopy(TailedFile f, long size) throws IOException {
    if (f.readOffset != 0 || f.identity.fingerprint().length() != 0 || size == 0) {
      return false;
    }
    byte[] head = readHead(f.channel, (int) Math.min(config.fingerprintBytes(), size));
    Optional<TailedFile> original = originalOf(head, f);
    if (original.isEmpty()) {
      return false;
    }
    log.fine(() -> f.path + " " + f.fileKey + " is a copy of " + original.get().path + ": held as such, not read");
    FileChannel channel = f.channel;
    f.channel = null; // the handle moves to the copy, still counted once
    f.identity.retire(0);
    files.remove(f);
    holdCopy(original.get(), new TailedFile.HeldCopy(f.fileKey, f.path, channel));
    return true;
  }

  /**
   * The content under this inode is not what was being read: copy-truncate, or the inode was reused. The
   * old content is finished from its copy (held since it appeared, or found beside it by fingerprint);
   * the new content is read from 0.
   */
  void replaced(TailedFile f) throws IOException, InterruptedException {
    FileIdentity old = f.identity;
    for (TailedFile other : new ArrayList<>(files)) {
      if (other != f && other.isOpen()) {
        becameCopy(other, other.channel.size()); // found empty, not read yet (reading was paused)
      }
    }
    TailedFile copy = heldCopy(f);
    if (copy == null) {
      copy = findCopy(f);
    }
    if (copy != null) {
      drainCopy(f, copy);
    } else {
      if (f.readOffset < old.size() || f.splitter.hasPartial()) {
        log.warning(() -> f.path + " was truncated and no copy of it was found beside it; bytes after offset "
            + f.readOffset + " of the old content are lost");
        metrics.truncationsUnrecovered.increment();
      }
      reading.flush(f);
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

  /** The copy {@code f} holds, as a file to follow, when it has more than was read; else null (closed). */
  private TailedFile heldCopy(TailedFile f) throws IOException {
    TailedFile.HeldCopy held = files.releaseCopy(f);
    if (held == null) {
      return null;
    }
    if (held.channel().size() <= f.readOffset || files.get(held.fileKey()) != null) {
      handles.close(held); // an older copy, taken before what was read: the one beside it may be newer
      return null;
    }
    TailedFile copy = copyOf(f, held.fileKey(), held.path());
    handles.adopt(copy, held.channel());
    return copy;
  }

  private TailedFile copyOf(TailedFile f, Object key, Path path) {
    TailedFile copy = new TailedFile(key, path, f.identity, f.readOffset, config.maxLineBytes(),
        config.multilineStart(), f.lastDataNanos);
    copy.matched = false;
    return copy;
  }

  /**
   * Reads the old content's unread part from its copy (open), then keeps the copy followed as that
   * content, held like any file that left the globs until everything in it is shipped.
   */
  private void drainCopy(TailedFile f, TailedFile copy) throws IOException, InterruptedException {
    long size = copy.channel.size();
    long from = f.readOffset;
    long offset = reading.readAll(f, copy.channel, f.readOffset, size);
    log.fine(() -> f.path + " " + f.fileKey + " was truncated: its bytes " + from + " to " + offset + " read from its copy "
        + copy.path + " " + copy.fileKey);
    // The copy's lines continue the entry in progress, so the splitter state moves over with them.
    f.readOffset = offset;
    reading.flush(f);
    copy.readOffset = offset;
    copy.knownSize = size;
    f.identity.path(copy.path.toString());
    files.add(copy);
  }

  /** A regular file in {@code dir}, other than {@code except}, that starts with the identity's fingerprint, opened. */
  private TailedFile findCopy(TailedFile f) throws InterruptedException {
    Path dir = f.path.getParent();
    Object except = f.fileKey;
    Fingerprint fp = f.identity.fingerprint();
    if (dir == null || fp.length() == 0) {
      return null;
    }
    Optional<Path> path;
    try (Stream<Path> siblings = Files.list(dir)) {
      path = siblings
          .filter(Files::isRegularFile)
          .filter(p -> {
            Object key = LogPaths.fileKey(p);
            return key != null && !key.equals(except) && files.get(key) == null;
          })
          .filter(p -> fp.matches(readHead(p, fp.length())))
          .findFirst();
    } catch (IOException e) {
      return null;
    }
    Object key = path.map(LogPaths::fileKey).orElse(null);
    if (key == null) {
      return null;
    }
    TailedFile copy = copyOf(f, key, path.get());
    return handles.open(copy, f, files, false, this::abandon) ? copy : null;
  }

  /**
   * Positions saved before a restart whose file no longer matches the globs (rotated away while the
   * forwarder was down): the file is looked for among its old directory's files by fingerprint, whatever
   * its name now, and read from the saved offset. One that is gone is counted and logged, once.
   */
  void resumeRotatedAway(long now) throws InterruptedException {
    for (Checkpoint c : checkpoints.unclaimed()) {
      checkpoints.forget(c);
      // An empty file's position has no fingerprint to look for (any file would match it).
      if (c.path() == null || c.fingerprintLength() == 0) {
        continue;
      }
      Path dir = Path.of(c.path()).getParent();
      Optional<Path> match = dir == null ? Optional.empty() : findByFingerprint(dir, c);
      if (match.isEmpty()) {
        long lost = Math.max(0, c.size() - c.offset());
        if (lost == 0) {
          log.fine(() -> c.path() + " was shipped to its end (as far as the last save knew) and is gone now");
          continue;
        }
        metrics.bytesLostWhileStopped.increment(lost);
        log.warning(() -> c.path() + " was read up to offset " + c.offset() + " of " + c.size()
            + " bytes when the forwarder stopped, and is gone now (deleted, or moved out of its directory):"
            + " what it held after that offset is lost (log_forwarder_unshipped_bytes_abandoned_total)");
        continue;
      }
      Path p = match.get();
      Object key = LogPaths.fileKey(p);
      byte[] head = readHead(p, config.fingerprintBytes());
      long size = sizeOf(p);
      if (key == null || head == null || size < c.offset() || files.get(key) != null) {
        continue;
      }
      TailedFile f = files.follow(key, p, head, c.offset(), false, now);
      f.identity.path(c.path());
      f.knownSize = size;
      if (!handles.open(f, files, false, this::abandon)) {
        log.warning(() -> "cannot open " + p + " to finish it now; tried again at the next scan");
      }
      log.info(() -> "finishing " + p + " (was " + c.path() + ") from offset " + c.offset());
    }
  }

  private Optional<Path> findByFingerprint(Path dir, Checkpoint c) {
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> siblings = Files.list(dir)) {
      return siblings
          .filter(Files::isRegularFile)
          .filter(p -> files.get(LogPaths.fileKey(p)) == null)
          .filter(p -> {
            byte[] head = readHead(p, c.fingerprintLength());
            return head != null && head.length == c.fingerprintLength()
                && FileIdentity.sha256(head, head.length).equals(c.fingerprintSha256());
          })
          .findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  static byte[] readHead(FileChannel channel, int length) throws IOException {
    ByteBuffer head = ByteBuffer.allocate(length);
    while (head.hasRemaining()) {
      if (channel.read(head, head.position()) <= 0) {
        break;
      }
    }
    return Arrays.copyOf(head.array(), head.position());
  }

  static byte[] readHead(Path path, int length) {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      return readHead(channel, length);
    } catch (IOException e) {
      return null;
    }
  }

  /** When the file {@code fileKey} at {@code p} was last written; the earliest time when it is no longer there. */
  private static long modifiedMillis(Path p, Object fileKey) {
    try {
      java.nio.file.attribute.BasicFileAttributes attrs = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class);
      return fileKey.equals(attrs.fileKey()) ? attrs.lastModifiedTime().toMillis() : Long.MIN_VALUE;
    } catch (IOException e) {
      return Long.MIN_VALUE; // renamed again or gone: not taken for a copy
    }
  }

  private static long sizeOf(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return 0;
    }
  }
}
