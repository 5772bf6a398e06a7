package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Groups records into batches by count, bytes and age, and hands them to the shipper's bounded queue.
 * When the queue is full the hand-off blocks, which is what pauses reading while the collector is away.
 */
public final class Batcher {
  private final BlockingQueue<LogBatch> queue;
  private final int maxRecords;
  private final long maxBytes;
  private final long maxAgeNanos;
  private final LongSupplier clockNanos;
  private final BooleanSupplier giveUp;
  private LogBatch current;

  public Batcher(BlockingQueue<LogBatch> queue, int maxRecords, long maxBytes, Duration maxAge, LongSupplier clockNanos,
      BooleanSupplier giveUp) {
    this.queue = queue;
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
    this.maxAgeNanos = maxAge.toNanos();
    this.clockNanos = clockNanos;
    this.giveUp = giveUp;
  }

  public void add(LogRecordData record, FileIdentity identity, long endOffset, int lineBytes) throws InterruptedException {
    batch().add(record, identity, endOffset, lineBytes);
    if (current.records().size() >= maxRecords || current.bytes() >= maxBytes) {
      flush();
    }
  }

  public void advance(FileIdentity identity, long endOffset) {
    batch().advance(identity, endOffset);
  }

  private LogBatch batch() {
    if (current == null) {
      current = new LogBatch(clockNanos.getAsLong(), Math.min(maxRecords, 4096));
    }
    return current;
  }

  /** Hands the batch over once it is older than the batch delay. */
  public void flushIfDue() throws InterruptedException {
    if (current != null && clockNanos.getAsLong() - current.createdNanos() >= maxAgeNanos) {
      flush();
    }
  }

  /** Hands the current batch over, waiting for room; returns false if told to give up first. */
  public boolean flush() throws InterruptedException {
    if (current == null || current.isEmpty()) {
      return true;
    }
    while (!queue.offer(current, 100, TimeUnit.MILLISECONDS)) {
      if (giveUp.getAsBoolean()) {
        return false;
      }
    }
    current = null;
    return true;
  }
}
