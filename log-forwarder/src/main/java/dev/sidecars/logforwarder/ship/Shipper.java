package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.LogForwarderMetrics;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Exports batches, up to {@code exportsInFlight} at once, and commits each batch's read positions only
 * after the collector accepted it and every batch before it. Retryable failures are retried forever with
 * back-off (or after the collector's {@code Retry-After}, when it is longer) while the tailer, seeing the
 * queue full, stops reading (it keeps scanning for new files): the files are the buffer.
 *
 * <p>With one export in flight, each batch's round trip (sending, the collector decoding it, the answer)
 * left both this process and the collector idle half the time; a second export overlaps them, as the
 * OpenTelemetry Collector's exporters do with several queue consumers. Positions still move in file
 * order: a batch accepted before an earlier one waits for it, and once a batch is given up (shutdown),
 * nothing after it is committed.
 *
 * <p>The positions of accepted batches are written (fsynced) on a thread of their own, in order, while
 * the next batches are sent. A batch keeps its place in flight until its write starts, so at most one
 * accepted batch more than those in flight is re-sent after a crash.
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
  private final int exportsInFlight;
  private final Semaphore inFlight;
  private final ExecutorService senders;
  private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "log-forwarder-checkpoints");
    t.setDaemon(true);
    return t;
  });
  // Batches handed to a sender, in the order they were taken from the queue; guarded by itself.
  private final ArrayDeque<Export> exports = new ArrayDeque<>();
  private boolean gap; // guarded by exports: an export ended unaccepted, so no later one may commit
  private volatile boolean finishing;
  private volatile boolean abandoned;
  private volatile Throwable failure;
  private final AtomicBoolean rejectionLogged = new AtomicBoolean();
  private final AtomicBoolean partialLogged = new AtomicBoolean();
  private final AtomicBoolean failing = new AtomicBoolean();

  /** One batch handed to a sender; {@code done} and {@code accepted} are guarded by the exports deque. */
  private static final class Export {
    final LogBatch batch;
    boolean done;
    boolean accepted;

    Export(LogBatch batch) {
      this.batch = batch;
    }
  }

  public Shipper(
      LogSender sender,
      ExportRequests requests,
      BlockingQueue<LogBatch> queue,
      CheckpointStore checkpoints,
      Backoff backoff,
      Sleeper sleeper,
      LogForwarderMetrics metrics,
      int exportsInFlight) {
    this.sender = sender;
    this.requests = requests;
    this.queue = queue;
    this.checkpoints = checkpoints;
    this.backoff = backoff;
    this.sleeper = sleeper;
    this.metrics = metrics;
    this.exportsInFlight = exportsInFlight;
    this.inFlight = new Semaphore(exportsInFlight);
    AtomicInteger n = new AtomicInteger();
    this.senders = Executors.newFixedThreadPool(exportsInFlight, r -> {
      Thread t = new Thread(r, "log-forwarder-sender-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  public void run() {
    try {
      loop();
      awaitExports();
      writer.submit(() -> { }).get(); // the last positions are on disk
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      log.warning("writing positions failed: " + e.getCause());
    } catch (RuntimeException | Error e) {
      failure = e;
      log.log(Level.SEVERE, "shipping stopped", e);
      throw e;
    } finally {
      senders.shutdownNow();
      writer.shutdown();
    }
  }

  private void loop() throws InterruptedException {
    while (!stopped()) {
      // A free sender first, then a batch: a batch taken from the queue counts as in flight, so the queue
      // fills, and reading pauses, while every sender is busy.
      if (!inFlight.tryAcquire(50, TimeUnit.MILLISECONDS)) {
        continue;
      }
      LogBatch batch = queue.poll(50, TimeUnit.MILLISECONDS);
      if (batch == null) {
        inFlight.release();
        if (finishing) {
          return;
        }
        continue;
      }
      Export export = new Export(batch);
      if (batch.count() == 0) {
        track(export);
        ended(export, true);
        continue;
      }
      ExportRequests.Encoded request = batch.request(); // waits for the encoding thread; throws if it failed
      track(export);
      senders.execute(() -> send(export, request));
    }
  }

  private boolean stopped() {
    return abandoned || failure != null;
  }

  /** On a sender thread: delivers one batch, then commits whatever is now accepted in order. */
  private void send(Export export, ExportRequests.Encoded request) {
    boolean accepted = false;
    try {
      accepted = deliver(request.bytes(), request.length(), export.batch.count());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      if (!abandoned) {
        failure = e; // nothing after this batch can commit any more: stop, and let readiness say so
      }
    } catch (RuntimeException | Error e) {
      failure = e;
      log.log(Level.SEVERE, "shipping stopped", e);
    } finally {
      ended(export, accepted);
    }
  }

  /** Puts an export in line: its positions commit after those of every export tracked before it. */
  private void track(Export export) {
    synchronized (exports) {
      exports.addLast(export);
    }
  }

  /** Marks an export ended, accepted or given up, and commits what is now accepted in order. */
  private void ended(Export export, boolean accepted) {
    synchronized (exports) {
      export.done = true;
      export.accepted = accepted;
      settle();
    }
  }

  /**
   * Commits the finished exports at the head, in order. Called with the deque's lock held, so the writer
   * receives commits in file order.
   */
  private void settle() {
    while (!exports.isEmpty() && exports.peekFirst().done) {
      Export head = exports.pollFirst();
      if (!head.accepted || gap) {
        gap = true; // given up: its lines, and every later batch's, are read again after a restart
        inFlight.release();
        continue;
      }
      head.batch.release();
      try {
        writer.execute(() -> {
          try {
            head.batch.ends().forEach((identity, end) -> identity.commit(end));
          } finally {
            inFlight.release();
          }
          try {
            checkpoints.write();
          } catch (RuntimeException e) {
            // The next commit writes every position again; until then a crash re-sends a little more.
            log.warning("writing positions failed: " + e.getMessage() + ": " + e.getCause());
          }
        });
      } catch (RejectedExecutionException e) {
        // Shipping ended (abandoned) as this export was answered: it is read again after a restart.
        gap = true;
        inFlight.release();
      }
    }
  }

  /** Waits until every export handed to a sender has ended and started its commit, or shipping stopped. */
  private void awaitExports() throws InterruptedException {
    while (!stopped()) {
      if (inFlight.tryAcquire(exportsInFlight, 50, TimeUnit.MILLISECONDS)) {
        inFlight.release(exportsInFlight);
        return;
      }
    }
  }

  /** Why shipping stopped unexpectedly, if it did (readiness reports it). */
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  /** Ends the loop once the queue is empty and every export has ended (the tailer has stopped adding). */
  public void finish() {
    finishing = true;
  }

  /** Gives up on what is still unsent: its positions stay uncommitted, so it is read again after a restart. */
  public void abandon() {
    abandoned = true;
  }

  /** True once every record was accepted or deliberately skipped; false when abandoned first. */
  boolean deliver(byte[] request, int length, int records) throws InterruptedException {
    for (int attempt = 0; !stopped(); attempt++) {
      SendResult result = sender.send(request, length, records);
      switch (result.outcome()) {
        case ACCEPTED -> {
          long rejected = Math.min(records, Math.max(0, result.rejectedRecords()));
          metrics.recordsSent.increment(records - rejected);
          if (rejected > 0) {
            metrics.recordsRejected.increment(rejected);
            if (partialLogged.compareAndSet(false, true)) {
              log.warning("collector at " + sender.endpoint() + " accepted a batch of " + records + " records but rejected " + rejected
                  + " of them (partial success" + (result.description().isEmpty() ? "" : ": " + result.description())
                  + "); not sent again, counted in log_forwarder_records_rejected_total (logged once)");
            }
          }
          if (failing.compareAndSet(true, false)) {
            log.info("collector at " + sender.endpoint() + " accepts logs again");
          }
          return true;
        }
        case REJECTED -> {
          metrics.recordsRejected.increment(records);
          metrics.sendsRejected.increment();
          if (rejectionLogged.compareAndSet(false, true)) {
            log.warning("collector at " + sender.endpoint() + " refused a batch of " + records + " records (" + result.description()
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
          ExportRequests.Encoded first = requests.encode(all.subList(0, half));
          ExportRequests.Encoded second = requests.encode(all.subList(half, all.size()));
          return deliver(first.bytes(), first.length(), half)
              && deliver(second.bytes(), second.length(), all.size() - half);
        }
        case RETRY -> {
          metrics.sendsRetried.increment();
          Duration wait = backoff.delay(attempt);
          if (result.retryAfter().isPresent() && result.retryAfter().get().compareTo(wait) > 0) {
            wait = result.retryAfter().get(); // the collector said when: not earlier
          }
          if (failing.compareAndSet(false, true)) {
            log.warning("export to " + sender.endpoint() + " failed (" + result.description()
                + "); reading pauses, retrying with back-off");
          }
          sleeper.sleep(wait);
        }
      }
    }
    return false;
  }
}
