package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.parse.LogEntry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Groups entries into batches by count, bytes and age, and hands them to the shipper's bounded queue.
 *
 * <p>Adding waits only for the encoding thread to catch up ({@link BatchEncoder}), never for the
 * collector: a full batch the queue has no room for waits here, in order, and {@link
 * #backlogged()} tells the tailer to stop reading until it is handed over. That keeps the tailer's thread
 * free to scan for new files while the collector is away, and memory bounded: the tailer stops right
 * after the line that filled the queue, so at most one full batch waits here.
 */
public final class Batcher {
  private final BlockingQueue<LogBatch> queue;
  private final int maxRecords;
  private final long maxBytes;
  private final long maxAgeNanos;
  private final LongSupplier clockNanos;
  private final BooleanSupplier giveUp;
  private final BatchEncoder encoder;
  private final ArrayDeque<LogBatch> sealed = new ArrayDeque<>();
  private LogBatch current;

  public Batcher(BlockingQueue<LogBatch> queue, int maxRecords, long maxBytes, Duration maxAge, LongSupplier clockNanos,
      BooleanSupplier giveUp, BatchEncoder encoder) {
    this.encoder = encoder;
    this.queue = queue;
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
    this.maxAgeNanos = maxAge.toNanos();
    this.clockNanos = clockNanos;
    this.giveUp = giveUp;
  }

  public void add(LogEntry entry, FileIdentity identity, long endOffset, int lineBytes) throws InterruptedException {
    batch().add(entry, identity, endOffset, lineBytes);
    if (current.count() >= maxRecords || current.bytes() >= maxBytes) {
      seal();
    }
  }

  public void advance(FileIdentity identity, long endOffset) {
    batch().advance(identity, endOffset);
  }

  private LogBatch batch() {
    if (current == null) {
      current = new LogBatch(clockNanos.getAsLong(), maxRecords, encoder);
    }
    return current;
  }

  /** Closes the current batch and hands over what the queue has room for, without waiting. */
  private void seal() throws InterruptedException {
    if (current != null && !current.isEmpty()) {
      current.seal();
      sealed.add(current);
    }
    current = null;
    handOver();
  }

  private void handOver() {
    while (!sealed.isEmpty() && queue.offer(sealed.peek())) {
      sealed.poll();
    }
  }

  /** True while full batches wait for room in the queue: the tailer reads nothing more until then. */
  public boolean backlogged() {
    handOver();
    return !sealed.isEmpty();
  }

  /** Waits at most {@code nanos} for the queue to take the oldest waiting batch; true once none waits. */
  public boolean awaitRoom(long nanos) throws InterruptedException {
    handOver();
    LogBatch next = sealed.peek();
    if (next != null && nanos > 0 && queue.offer(next, nanos, TimeUnit.NANOSECONDS)) {
      sealed.poll();
      handOver();
    }
    return sealed.isEmpty();
  }

  /** Hands the batch over once it is older than the batch delay. */
  public void flushIfDue() throws InterruptedException {
    if (current != null && clockNanos.getAsLong() - current.createdNanos() >= maxAgeNanos) {
      seal();
    }
  }

  /** Hands every batch over, waiting for room; returns false if told to give up first. */
  public boolean flush() throws InterruptedException {
    seal();
    while (!sealed.isEmpty()) {
      if (!awaitRoom(TimeUnit.MILLISECONDS.toNanos(100)) && giveUp.getAsBoolean()) {
        return false;
      }
    }
    return true;
  }
}
