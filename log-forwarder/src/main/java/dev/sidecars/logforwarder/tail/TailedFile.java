package dev.sidecars.logforwarder.tail;

import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** One file (one inode) being followed: where it is, its handle if open, how far it was read. */
final class TailedFile {
  final Object fileKey;
  final LineSplitter splitter;
  final EntryAssembler assembler;
  volatile Path path;
  volatile FileChannel channel;
  volatile FileIdentity identity;
  long readOffset;
  volatile long knownSize;
  /** Matched by {@code LOG_PATHS} at the last scan (or seen under a matching name since). */
  boolean matched = true;
  /** Read to its end and no longer matched: closed once the collector accepted everything up to there. */
  boolean retired;
  /** Open, and no longer in its directory under any name: its disk space is held by the handle alone. */
  volatile boolean deleted;
  long lastDataNanos;
  long lastReadNanos;
  /**
   * The newest file found with this file's content (its copy, as copy-truncate rotation makes one), held
   * open from when it appeared: if this file is then truncated while reading is paused, the copy may be
   * rotated away before the truncation is noticed, and its handle is what still has the unread part.
   */
  HeldCopy copy;
  /** When it was first followed, by the wall clock (file times are compared with it). */
  final long followedAtMillis = System.currentTimeMillis();
  /** When discovery last reported it under a matching name. */
  long lastSeenNanos;

  TailedFile(Object fileKey, Path path, FileIdentity identity, long readOffset, int maxLineBytes,
      Optional<Pattern> multilineStart, long nowNanos) {
    this.fileKey = fileKey;
    this.path = path;
    this.identity = identity;
    this.readOffset = readOffset;
    this.splitter = new LineSplitter(maxLineBytes);
    this.assembler = new EntryAssembler(multilineStart, maxLineBytes);
    this.lastDataNanos = nowNanos;
    this.lastReadNanos = nowNanos;
  }

  /** The size through the handle when open, else the last size seen; safe to call from a scrape thread. */
  long currentSize() {
    FileChannel c = channel;
    if (c != null) {
      try {
        return c.size();
      } catch (IOException e) {
        // closed meanwhile: the last known size will do
      }
    }
    return knownSize;
  }

  /** Bytes in the file not yet accepted by the collector; safe to call from a scrape thread. */
  double lag() {
    return Math.max(0, currentSize() - identity.committed());
  }

  /** Bytes not yet read. */
  long unread() {
    return Math.max(0, currentSize() - readOffset);
  }

  /**
   * Where this file is now: its known path if that is still this file, else the file with its key in the
   * same directory (renamed beside it); empty when it is in neither place (deleted, or moved elsewhere).
   */
  Optional<Path> locate() {
    return locate(new HashMap<>());
  }

  /** As {@link #locate()}, listing each directory once per {@code listings} (directory to file key to path). */
  Optional<Path> locate(Map<Path, Map<Object, Path>> listings) {
    if (fileKey.equals(LogPaths.fileKey(path))) {
      return Optional.of(path);
    }
    Path dir = path.getParent();
    if (dir == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(listings.computeIfAbsent(dir, TailedFile::byFileKey).get(fileKey));
  }

  private static Map<Object, Path> byFileKey(Path dir) {
    Map<Object, Path> keys = new HashMap<>();
    try (Stream<Path> siblings = Files.list(dir)) {
      siblings.forEach(p -> {
        Object key = LogPaths.fileKey(p);
        if (key != null) {
          keys.putIfAbsent(key, p);
        }
      });
    } catch (IOException e) {
      // the directory is gone: so is every file in it
    }
    return keys;
  }

  /** A copy of a followed file's content, held open; see {@link TailedFile#copy}. */
  record HeldCopy(Object fileKey, Path path, FileChannel channel) {}

  boolean isOpen() {
    return channel != null;
  }

  void close() {
    FileChannel c = channel;
    if (c != null) {
      try {
        c.close();
      } catch (IOException e) {
        // closing a read handle cannot lose data
      }
      channel = null;
    }
  }
}
