package dev.sidecars.logforwarder.tail;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Joins the lines of one file into entries: with a start pattern, a line that does not match it belongs
 * to the entry before (a stack trace's "at ..." lines); without one, every line is an entry. One
 * assembler per file, so entries of different files never mix.
 */
final class EntryAssembler {
  /** Receives each complete entry. */
  interface Sink {
    void entry(String text, boolean truncated, boolean invalidUtf8, int bytes, long endOffset) throws InterruptedException;
  }

  private final Optional<Pattern> start;
  private final int maxBytes;
  private StringBuilder pending;
  private boolean pendingTruncated;
  private boolean pendingInvalid;
  private int pendingBytes;
  private long pendingEnd;

  EntryAssembler(Optional<Pattern> start, int maxBytes) {
    this.start = start;
    this.maxBytes = maxBytes;
  }

  void line(String text, boolean truncated, boolean invalid, int bytes, long endOffset, Sink sink)
      throws InterruptedException {
    if (start.isEmpty()) {
      sink.entry(text, truncated, invalid, bytes, endOffset);
      return;
    }
    if (pending != null && !start.get().matcher(text).lookingAt()) {
      if (pendingBytes + 1 + bytes > maxBytes) {
        pendingTruncated = true; // the entry keeps its first lines; later ones are skipped
      } else {
        pending.append('\n').append(text);
        pendingBytes += 1 + bytes;
      }
      pendingTruncated |= truncated;
      pendingInvalid |= invalid;
      pendingEnd = endOffset;
      return;
    }
    flush(sink);
    pending = new StringBuilder(text);
    pendingTruncated = truncated;
    pendingInvalid = invalid;
    pendingBytes = bytes;
    pendingEnd = endOffset;
  }

  /** Whether lines may be joined (a start pattern is set); without one every line is an entry. */
  boolean joinsLines() {
    return start.isPresent();
  }

  boolean hasPending() {
    return pending != null;
  }

  void flush(Sink sink) throws InterruptedException {
    if (pending != null) {
      String text = pending.toString();
      pending = null;
      sink.entry(text, pendingTruncated, pendingInvalid, pendingBytes, pendingEnd);
    }
  }

  void reset() {
    pending = null;
  }
}
