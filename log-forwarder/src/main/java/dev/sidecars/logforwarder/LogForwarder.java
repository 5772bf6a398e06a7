package dev.sidecars.logforwarder;

import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.parse.RecordFactory;
import dev.sidecars.logforwarder.ship.Backoff;
import dev.sidecars.logforwarder.ship.BatchEncoder;
import dev.sidecars.logforwarder.ship.Batcher;
import dev.sidecars.logforwarder.ship.ExportRequests;
import dev.sidecars.logforwarder.ship.LogBatch;
import dev.sidecars.logforwarder.ship.LogSender;
import dev.sidecars.logforwarder.ship.OtlpLogExporters;
import dev.sidecars.logforwarder.ship.RequestBuffers;
import dev.sidecars.logforwarder.ship.Shipper;
import dev.sidecars.logforwarder.ship.Sleeper;
import dev.sidecars.logforwarder.tail.Tailer;
import dev.sidecars.runtime.SidecarComponent;
import dev.sidecars.runtime.SidecarContext;
import dev.sidecars.runtime.admin.Readiness;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.logging.Logger;

/**
 * The running log-forwarder: a tailer thread reading files into batches of entries, an encoder thread
 * turning them into OTLP records and encoding them, a shipper thread exporting them and committing read
 * positions, joined by a bounded queue.
 */
public final class LogForwarder implements SidecarComponent {
  private static final Logger log = Logger.getLogger(LogForwarder.class.getName());

  private final LogSender sender;
  private final CheckpointStore checkpoints;
  private final Tailer tailer;
  private final Shipper shipper;
  private final Thread tailerThread;
  private final Thread shipperThread;
  private final BatchEncoder encoder;

  private LogForwarder(LogSender sender, CheckpointStore checkpoints, Tailer tailer, Shipper shipper,
      BatchEncoder encoder) {
    this.sender = sender;
    this.encoder = encoder;
    this.checkpoints = checkpoints;
    this.tailer = tailer;
    this.shipper = shipper;
    this.tailerThread = new Thread(tailer, "log-forwarder-tailer");
    this.shipperThread = new Thread(shipper, "log-forwarder-shipper");
  }

  /**
   * Starts tailing and shipping. The sender is configured as the SDK's exporter would be and the records
   * carry the sidecar's resource, so logs describe the app exactly as the sidecar's other telemetry does
   * ({@code SERVICE_NAME}, Kubernetes attributes, {@code OTEL_RESOURCE_ATTRIBUTES}).
   */
  public static LogForwarder start(LogForwarderConfig c, SidecarContext context) {
    ConfigProperties otlp = context.telemetry().config();
    Resource resource = context.telemetry().resource();
    InstrumentationScopeInfo scope = InstrumentationScopeInfo.builder(context.name()).setVersion(context.version()).build();
    LogSender sender = OtlpLogExporters.sender(otlp, resource, scope, context.name() + "/" + context.version(),
        c.exportsInFlight());
    ExportRequests requests = new ExportRequests(resource, scope);
    // One array per batch that can be held at once: queued, waiting for room, in flight, filling.
    RequestBuffers buffers = new RequestBuffers(c.queuedBatches() + c.exportsInFlight() + 2);
    CheckpointStore checkpoints = new CheckpointStore(c.stateDir(), System::nanoTime);
    if (c.stateDir().isEmpty()) {
      log.warning("LOG_STATE_DIR is not set: read positions are kept in memory only, a restart reads files again");
    }
    // meters(), not registry(): the forwarder's health (lag, failed sends) must reach the collector over
    // OTLP like the proxies' metrics, not only a Prometheus scrape that a log-only setup may not have.
    LogForwarderMetrics metrics = new LogForwarderMetrics(context.meters(), checkpoints);
    BlockingQueue<LogBatch> queue = new ArrayBlockingQueue<>(c.queuedBatches());
    RecordFactory records = new RecordFactory(c.format(), LogForwarder::epochNanos);
    BatchEncoder encoder = new BatchEncoder(records::record, requests, buffers);
    Batcher batcher = new Batcher(queue, c.batchRecords(), c.batchBytes(), c.batchDelay(), System::nanoTime,
        () -> Thread.currentThread().isInterrupted(), encoder);
    Tailer tailer = new Tailer(c, checkpoints, records, batcher, metrics, System::nanoTime);
    Shipper shipper = new Shipper(sender, requests, queue, checkpoints,
        new Backoff(c.retryInitial(), c.retryMax(), new Random()), Sleeper.SYSTEM, metrics, c.exportsInFlight());
    LogForwarder forwarder = new LogForwarder(sender, checkpoints, tailer, shipper, encoder);
    forwarder.shipperThread.start();
    forwarder.tailerThread.start();
    return forwarder;
  }

  private static long epochNanos() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  @Override
  public Map<String, Integer> ports() {
    return Map.of();
  }

  /** The lines read go out as OTLP logs whatever {@code OTEL_LOGS_EXPORTER} says (that is for its own logs). */
  @Override
  public Set<String> otlpSignals() {
    return Set.of("logs");
  }

  @Override
  public Readiness readiness() {
    return () -> {
      if (tailer.failure().isPresent()) {
        return Optional.of("tailing stopped: " + tailer.failure().get());
      }
      if (shipper.failure().isPresent()) {
        return Optional.of("shipping stopped: " + shipper.failure().get());
      }
      if (checkpoints.problem().isPresent()) {
        return checkpoints.problem();
      }
      return tailer.tailing() ? Optional.empty() : Optional.of("starting to tail");
    };
  }

  /**
   * SIGTERM: read what the files hold now (for at most half the budget), ship it, wait for the
   * collector's answers, write the positions. Unsent batches stay uncommitted and are read again after a
   * restart.
   */
  @Override
  public void drain(Duration budget) throws InterruptedException {
    long start = System.nanoTime();
    long end = start + budget.toNanos();
    tailer.stop(start + budget.toNanos() / 2);
    if (!tailer.awaitDone(Math.max(0, (end - System.nanoTime()) / 1_000_000))) {
      tailerThread.interrupt();
    }
    shipper.finish();
    shipperThread.join(Math.max(1, (end - System.nanoTime()) / 1_000_000));
    if (shipperThread.isAlive()) {
      shipper.abandon();
      shipperThread.interrupt();
      shipperThread.join(1000);
      log.warning("collector did not accept every batch within the grace period; the rest is read again after a restart");
    }
    checkpoints.write();
  }

  @Override
  public void close() {
    tailerThread.interrupt();
    shipper.abandon();
    shipperThread.interrupt();
    encoder.close();
    sender.shutdown();
  }
}
