package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.LogForwarderMetrics;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Exports batches one at a time, in order, and commits each batch's read positions only after the
 * collector accepted it. Retryable failures are retried forever with back-off (or after the collector's
 * {@code Retry-After}, when it is longer) while the tailer, seeing the queue full, stops reading (it keeps
 * scanning for new files): the files are the buffer.
 *
 * <p>The positions of an accepted batch are written (fsynced) on a thread of their own while the next
 * batch is sent: the write is no longer part of each batch's round trip. At most one write is in
 * progress, and the next commit waits for it, so a crash re-sends at most one accepted batch more than
 * before.
 */
public final class Shipper implements Runnable {
  private static final Logger log = Logger.getLogger(Shipper.class.getName());

  private final LogSender sender;
  private final ExportRequests requests;
  private final BlockingQueue<LogBatch> queue;
  private final CheckpointStore checkpoints;
  private final Backoff backoff;
  private final Sleeper sleeper;
  private final LogForwarderMetrics metrics;
  private volatile boolean finishing;
  private volatile boolean abandoned;
  private volatile Throwable failure;
  private boolean rejectionLogged;
  private boolean partialLogged;
  private boolean failing;
  private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "log-forwarder-checkpoints");
    t.setDaemon(true);
    return t;
  });
  private Future<?> lastWrite;

  public Shipper(
      LogSender sender,
      ExportRequests requests,
      BlockingQueue<LogBatch> queue,
      CheckpointStore checkpoints,
      Backoff backoff,
      Sleeper sleeper,
      LogForwarderMetrics metrics) {
    this.sender = sender;
    this.requests = requests;
    this.queue = queue;
    this.checkpoints = checkpoints;
    this.backoff = backoff;
    this.sleeper = sleeper;
    this.metrics = metrics;
  }

  @Override
  public void run() {
    try {
      loop();
      awaitWrite();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      failure = e;
      log.log(Level.SEVERE, "shipping stopped", e);
      throw e;
    } finally {
      writer.shutdown();
    }
  }

  private void loop() throws InterruptedException {
    while (!abandoned) {
      LogBatch batch = queue.poll(50, TimeUnit.MILLISECONDS);
      if (batch == null) {
        if (finishing) {
          return;
        }
        continue;
      }
      if (batch.count() == 0) {
        commit(batch);
        continue;
      }
      ExportRequests.Encoded request = batch.request();
      if (deliver(request.bytes(), request.length(), batch.count())) {
        batch.release();
        commit(batch);
      }
    }
  }

  /** Why shipping stopped unexpectedly, if it did (readiness reports it). */
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  /** Ends the loop once the queue is empty (the tailer has stopped adding). */
  public void finish() {
    finishing = true;
  }

  /** Gives up on what is still unsent: its positions stay uncommitted, so it is read again after a restart. */
  public void abandon() {
    abandoned = true;
  }

  private void commit(LogBatch batch) throws InterruptedException {
    awaitWrite();
    batch.ends().forEach((identity, end) -> identity.commit(end));
    lastWrite = writer.submit(() -> {
      try {
        checkpoints.write();
      } catch (java.io.UncheckedIOException e) {
        // The next commit writes every position again; until then a crash re-sends a little more.
        log.warning(e.getMessage() + ": " + e.getCause());
      }
    });
  }

  /** Waits for the positions of the previous batch to be on disk. */
  private void awaitWrite() throws InterruptedException {
    if (lastWrite != null) {
      try {
        lastWrite.get();
      } catch (ExecutionException e) {
        log.warning("writing positions failed: " + e.getCause());
      }
      lastWrite = null;
    }
  }

  /** True once every record was accepted or deliberately skipped; false when abandoned first. */
  boolean deliver(byte[] request, int length, int records) throws InterruptedException {
    for (int attempt = 0; !abandoned; attempt++) {
      SendResult result = sender.send(request, length, records);
      switch (result.outcome()) {
        case ACCEPTED -> {
          long rejected = Math.min(records, Math.max(0, result.rejectedRecords()));
          metrics.recordsSent.increment(records - rejected);
          if (rejected > 0) {
            metrics.recordsRejected.increment(rejected);
            if (!partialLogged) {
              partialLogged = true;
              log.warning("collector accepted a batch of " + records + " records but rejected " + rejected
                  + " of them (partial success" + (result.description().isEmpty() ? "" : ": " + result.description())
                  + "); not sent again, counted in log_forwarder_records_rejected_total (logged once)");
            }
          }
          if (failing) {
            failing = false;
            log.info("collector accepts logs again");
          }
          return true;
        }
        case REJECTED -> {
          metrics.recordsRejected.increment(records);
          metrics.sendsRejected.increment();
          if (!rejectionLogged) {
            rejectionLogged = true;
            log.warning("collector refused a batch of " + records + " records (" + result.description()
                + "); skipped, counted in log_forwarder_records_rejected_total (logged once)");
          }
          return true;
        }
        case TOO_LARGE -> {
          if (records <= 1) {
            metrics.recordsRejected.increment(records);
            metrics.sendsRejected.increment();
            log.warning("collector refused one record as too large; skipped");
            return true;
          }
          List<LogRecord> all = ExportRequests.records(request, length);
          int half = all.size() / 2;
          byte[] first = requests.encode(all.subList(0, half));
          byte[] second = requests.encode(all.subList(half, all.size()));
          return deliver(first, first.length, half) && deliver(second, second.length, all.size() - half);
        }
        case RETRY -> {
          metrics.sendsRetried.increment();
          Duration wait = backoff.delay(attempt);
          if (result.retryAfter().isPresent() && result.retryAfter().get().compareTo(wait) > 0) {
            wait = result.retryAfter().get(); // the collector said when: not earlier
          }
          if (!failing) {
            failing = true;
            log.warning("export failed (" + result.description() + "); reading pauses, retrying with back-off");
          }
          sleeper.sleep(wait);
        }
      }
    }
    return false;
  }
}
