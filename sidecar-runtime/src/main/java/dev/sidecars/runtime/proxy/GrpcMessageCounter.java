package dev.sidecars.runtime.proxy;

import io.netty.buffer.ByteBuf;

/**
 * Counts the messages of one direction of a gRPC call as its body streams by: each message is a 5-byte
 * prefix (compressed flag, 4-byte big-endian length) and that many bytes, and a prefix may be split across
 * buffers. Only the prefixes are read; message bytes are skipped, so the cost is per message, not per byte.
 */
final class GrpcMessageCounter {
  private static final int PREFIX = 5;

  private int prefixLeft = PREFIX;
  private long length;
  private long bodyLeft;
  private long messages;

  /** Counts what {@code bytes} holds between its reader and writer index, leaving both as they are. */
  void consume(ByteBuf bytes) {
    int i = bytes.readerIndex();
    int end = bytes.writerIndex();
    while (i < end) {
      if (bodyLeft > 0) {
        int skip = (int) Math.min(bodyLeft, end - i);
        i += skip;
        bodyLeft -= skip;
        continue;
      }
      byte b = bytes.getByte(i++);
      if (prefixLeft < PREFIX) { // the first byte is the compressed flag
        length = (length << 8) | (b & 0xff);
      }
      if (--prefixLeft == 0) {
        messages++;
        bodyLeft = length;
        length = 0;
        prefixLeft = PREFIX;
      }
    }
  }

  /** Whether the bytes so far end with a whole message (or are none): trailers may follow here. */
  boolean atMessageBoundary() {
    return prefixLeft == PREFIX && bodyLeft == 0;
  }

  /** Messages whose prefix has passed (the last one's bytes may still be on the way). */
  long messages() {
    return messages;
  }
}
