package dev.sidecars.logforwarder.tail;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Cuts a file's bytes into lines at {@code \n} (dropping a {@code \r} before it), keeping the start of a
 * line that has not ended yet. A line longer than the limit keeps its first bytes (cut at a character
 * boundary) and the rest of it, up to its newline, is skipped.
 */
final class LineSplitter {
  /** Receives each line; the bytes are only valid during the call. */
  interface Sink {
    void line(byte[] bytes, int offset, int length, boolean truncated, long endOffset) throws InterruptedException;
  }

  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGH_BITS = 0x8080808080808080L;

  private final int maxBytes;
  private byte[] partial = new byte[256];
  private int partialLength;
  private boolean partialTruncated;
  private boolean started;

  LineSplitter(int maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** Whether bytes of an unfinished line are held. */
  boolean hasPartial() {
    return started;
  }

  /** Splits {@code length} bytes read at file offset {@code fileOffset}, all of them. */
  void feed(byte[] buf, int offset, int length, long fileOffset, Sink sink) throws InterruptedException {
    feed(buf, offset, length, fileOffset, sink, () -> false);
  }

  /**
   * Splits {@code length} bytes read at file offset {@code fileOffset}, stopping right after a line once
   * {@code stop} says so; returns how many bytes were used. No partial line is held when it stops, so the
   * caller reads the rest again from the returned position later.
   */
  int feed(byte[] buf, int offset, int length, long fileOffset, Sink sink, java.util.function.BooleanSupplier stop)
      throws InterruptedException {
    int start = offset;
    int end = offset + length;
    for (int i; (i = indexOfNewline(buf, start, end)) >= 0; ) {
      long endOffset = fileOffset + (i - offset) + 1;
      if (!started) {
        int len = i - start;
        if (len > maxBytes) {
          sink.line(buf, start, boundary(buf, start, maxBytes), true, endOffset);
        } else {
          sink.line(buf, start, stripCr(buf, start, len), false, endOffset);
        }
      } else {
        append(buf, start, i);
        emitPartial(sink, endOffset);
      }
      start = i + 1;
      if (start < end && stop.getAsBoolean()) {
        return start - offset;
      }
    }
    if (start < end) {
      append(buf, start, end);
    }
    return length;
  }

  /**
   * The index of the first {@code \n} in {@code buf[from, to)}, or -1. Eight bytes at a time: the scan
   * touches every byte read, and a byte loop was half of the reading thread's time.
   */
  static int indexOfNewline(byte[] buf, int from, int to) {
    int i = from;
    for (; i + Long.BYTES <= to; i += Long.BYTES) {
      long x = (long) LONGS.get(buf, i) ^ NEWLINES;
      // A byte of x is zero where buf has '\n'; the lowest flagged byte is the first such byte (the
      // formula's false positives only ever sit above a true zero byte).
      long zeros = (x - ONES) & ~x & HIGH_BITS;
      if (zeros != 0) {
        return i + (Long.numberOfTrailingZeros(zeros) >>> 3);
      }
    }
    for (; i < to; i++) {
      if (buf[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  /** Emits the unfinished line as it is (quiet file, or the end of a file's content). */
  void flush(Sink sink, long endOffset) throws InterruptedException {
    if (started) {
      emitPartial(sink, endOffset);
    }
  }

  /** Forgets a held partial line (its file's content was replaced). */
  void reset() {
    partialLength = 0;
    partialTruncated = false;
    started = false;
  }

  private void emitPartial(Sink sink, long endOffset) throws InterruptedException {
    int len = partialTruncated ? boundary(partial, 0, partialLength) : stripCr(partial, 0, partialLength);
    sink.line(partial, 0, len, partialTruncated, endOffset);
    reset();
    if (partial.length > 64 * 1024) {
      partial = new byte[256]; // a single huge line should not pin its buffer
    }
  }

  private void append(byte[] buf, int from, int to) {
    started = true;
    int room = maxBytes - partialLength;
    int n = to - from;
    if (n > room) {
      partialTruncated = true;
      n = room;
    }
    if (n <= 0) {
      return;
    }
    if (partialLength + n > partial.length) {
      partial = Arrays.copyOf(partial, Math.min(maxBytes, Math.max(partial.length * 2, partialLength + n)));
    }
    System.arraycopy(buf, from, partial, partialLength, n);
    partialLength += n;
  }

  private static int stripCr(byte[] buf, int start, int len) {
    return len > 0 && buf[start + len - 1] == '\r' ? len - 1 : len;
  }

  /** {@code len}, shortened so a cut never splits a UTF-8 character. */
  static int boundary(byte[] buf, int start, int len) {
    int i = start + len - 1;
    int back = 0;
    while (i >= start && back < 3 && (buf[i] & 0xC0) == 0x80) {
      i--;
      back++;
    }
    if (i < start) {
      return len;
    }
    int lead = buf[i] & 0xFF;
    int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    int have = back + 1;
    return have < need && lead >= 0xC0 ? i - start : len;
  }
}
