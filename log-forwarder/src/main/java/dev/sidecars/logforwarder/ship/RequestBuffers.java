package dev.sidecars.logforwarder.ship;

import java.util.ArrayDeque;

/**
 * The byte arrays encoded requests are written into, reused from batch to batch. Fresh multi-megabyte
 * arrays per batch would be promoted to the old generation while they wait in the queue (they outgrow
 * the survivor space) and fill it with garbage, which is what made the whole heap resident; a handful of
 * long-lived arrays (one per queued, waiting and in-flight batch) does not.
 */
public final class RequestBuffers {
  private final ArrayDeque<byte[]> free = new ArrayDeque<>();
  private final int keep;
  private int largest;

  /** Keeps at most {@code keep} free arrays. */
  public RequestBuffers(int keep) {
    this.keep = keep;
  }

  /**
   * An array of at least {@code size} bytes. A new one is as large as the largest request asked for so
   * far, plus an eighth: a request grows chunk by chunk, so after the first full batch every array fits a
   * whole one. (Doubling instead left arrays up to twice a batch's size, and the heap resident with them.)
   */
  public synchronized byte[] take(int size) {
    largest = Math.max(largest, size);
    byte[] b = free.pollLast();
    if (b != null && b.length >= size) {
      return b;
    }
    return new byte[Math.max(largest, 64 * 1024) + largest / 8];
  }

  /** Gives an array back once the request it holds was answered. */
  public synchronized void give(byte[] b) {
    if (b != null && free.size() < keep) {
      free.addLast(b);
    }
  }
}
