package dev.sidecars.logforwarder.tail;

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
    for (int i = offset; i < end; i++) {
      if (buf[i] != '\n') {
        continue;
      }
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
