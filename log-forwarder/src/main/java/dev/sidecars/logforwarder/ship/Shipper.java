package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.LogForwarderMetrics;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Exports batches one at a time, in order, and commits each batch's read positions only after the
 * collector accepted it. Retryable failures are retried forever with back-off while the tailer, seeing
 * the queue full, stops reading (it keeps scanning for new files): the files are the buffer.
 */
public final class Shipper implements Runnable {
  private static final Logger log = Logger.getLogger(Shipper.class.getName());

  private final LogRecordExporter exporter;
  private final BlockingQueue<LogBatch> queue;
  private final CheckpointStore checkpoints;
  private final Backoff backoff;
  private final Sleeper sleeper;
  private final Duration exportTimeout;
  private final LogForwarderMetrics metrics;
  private volatile boolean finishing;
  private volatile boolean abandoned;
  private boolean rejectionLogged;
  private boolean failing;

  public Shipper(
      LogRecordExporter exporter,
      BlockingQueue<LogBatch> queue,
      CheckpointStore checkpoints,
      Backoff backoff,
      Sleeper sleeper,
      Duration exportTimeout,
      LogForwarderMetrics metrics) {
    this.exporter = exporter;
    this.queue = queue;
    this.checkpoints = checkpoints;
    this.backoff = backoff;
    this.sleeper = sleeper;
    this.exportTimeout = exportTimeout;
    this.metrics = metrics;
  }

  @Override
  public void run() {
    try {
      while (!abandoned) {
        LogBatch batch = queue.poll(50, TimeUnit.MILLISECONDS);
        if (batch == null) {
          if (finishing) {
            return;
          }
          continue;
        }
        if (deliver(batch.records())) {
          commit(batch);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Ends the loop once the queue is empty (the tailer has stopped adding). */
  public void finish() {
    finishing = true;
  }

  /** Gives up on what is still unsent: its positions stay uncommitted, so it is read again after a restart. */
  public void abandon() {
    abandoned = true;
  }

  private void commit(LogBatch batch) {
    batch.ends().forEach((identity, end) -> identity.commit(end));
    try {
      checkpoints.write();
    } catch (java.io.UncheckedIOException e) {
      // The next commit writes every position again; until then a crash re-sends a little more.
      log.warning(e.getMessage() + ": " + e.getCause());
    }
  }

  /** True once every record was accepted or deliberately skipped; false when abandoned first. */
  boolean deliver(List<LogRecordData> records) throws InterruptedException {
    if (records.isEmpty()) {
      return true;
    }
    for (int attempt = 0; !abandoned; attempt++) {
      CompletableResultCode result = exporter.export(records);
      result.join(exportTimeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
      ExportOutcome outcome = ExportOutcome.of(result);
      switch (outcome) {
        case ACCEPTED -> {
          metrics.recordsSent.increment(records.size());
          if (failing) {
            failing = false;
            log.info("collector accepts logs again");
          }
          return true;
        }
        case REJECTED -> {
          metrics.recordsRejected.increment(records.size());
          metrics.sendsRejected.increment();
          if (!rejectionLogged) {
            rejectionLogged = true;
            log.warning("collector refused a batch of " + records.size() + " records (" + ExportOutcome.describe(result)
                + "); skipped, counted in log_forwarder_records_rejected_total (logged once)");
          }
          return true;
        }
        case TOO_LARGE -> {
          if (records.size() == 1) {
            metrics.recordsRejected.increment();
            metrics.sendsRejected.increment();
            log.warning("collector refused one record as too large; skipped");
            return true;
          }
          int half = records.size() / 2;
          return deliver(records.subList(0, half)) && deliver(records.subList(half, records.size()));
        }
        case RETRY -> {
          metrics.sendsRetried.increment();
          Duration wait = backoff.delay(attempt);
          if (!failing) {
            failing = true;
            log.warning("export failed (" + ExportOutcome.describe(result) + "); reading pauses, retrying with back-off");
          }
          sleeper.sleep(wait);
        }
      }
    }
    return false;
  }
}
