package dev.sidecars.logforwarder.tail;

import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/** One file (one inode) being followed: where it is, its handle if open, how far it was read. */
final class TailedFile {
  final Object fileKey;
  final LineSplitter splitter;
  final EntryAssembler assembler;
  Path path;
  volatile FileChannel channel;
  volatile FileIdentity identity;
  long readOffset;
  volatile long knownSize;
  boolean matched = true;
  long lastDataNanos;
  long lastReadNanos;

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

  /** Bytes in the file not yet accepted by the collector; safe to call from a scrape thread. */
  double lag() {
    long size = knownSize;
    FileChannel c = channel;
    if (c != null) {
      try {
        size = c.size();
      } catch (IOException e) {
        // closed meanwhile: the last known size will do
      }
    }
    return Math.max(0, size - identity.committed());
  }

  boolean isOpen() {
    return channel != null;
  }

  void close() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        // closing a read handle cannot lose data
      }
      channel = null;
    }
  }
}
