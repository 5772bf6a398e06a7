package dev.sidecars.logforwarder.tail;

import dev.sidecars.logforwarder.LogForwarderConfig;
import dev.sidecars.logforwarder.LogForwarderMetrics;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.parse.RecordFactory;
import dev.sidecars.logforwarder.ship.Backoff;
import dev.sidecars.logforwarder.ship.BatchEncoder;
import dev.sidecars.logforwarder.ship.Batcher;
import dev.sidecars.logforwarder.ship.ExportOutcome;
import dev.sidecars.logforwarder.ship.ExportRequests;
import dev.sidecars.logforwarder.ship.LogBatch;
import dev.sidecars.logforwarder.ship.LogSender;
import dev.sidecars.logforwarder.ship.RequestBuffers;
import dev.sidecars.logforwarder.ship.SendResult;
import dev.sidecars.logforwarder.ship.Shipper;
import dev.sidecars.runtime.config.Settings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The forwarder's reading and shipping parts, as {@code LogForwarder} joins them, with the collector
 * replaced by a sender that keeps the bodies and accepts or refuses as the test says: the tailer's rules
 * tested in-process, in milliseconds rather than a child process's seconds.
 */
final class Pipeline implements AutoCloseable {
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final CheckpointStore checkpoints;
  final LogForwarderMetrics metrics;
  final List<String> received = new CopyOnWriteArrayList<>();
  volatile boolean accepting = true;
  /** How many more requests are accepted before refusing (while accepting). */
  final java.util.concurrent.atomic.AtomicInteger acceptable = new java.util.concurrent.atomic.AtomicInteger(Integer.MAX_VALUE);
  private final Tailer tailer;
  private final Shipper shipper;
  private final BatchEncoder encoder;
  private final Thread tailing;
  private final Thread shipping;

  /** Reads {@code LOG_PATHS=glob} with short intervals and {@code extra} variables; state in {@code state}. */
  Pipeline(String glob, Path state, Map<String, String> extra) {
    this(glob, state, extra, Integer.MAX_VALUE);
  }

  /** As above, the collector accepting only the first {@code acceptRequests} requests. */
  Pipeline(String glob, Path state, Map<String, String> extra, int acceptRequests) {
    acceptable.set(acceptRequests);
    Map<String, String> env = new java.util.HashMap<>(Map.of(
        "LOG_PATHS", glob, "LOG_STATE_DIR", state.toString(), "LOG_POLL_INTERVAL", "20ms",
        "LOG_RESCAN_INTERVAL", "100ms", "LOG_FLUSH_AFTER", "300ms", "LOG_ROTATE_WAIT", "300ms",
        "LOG_BATCH_DELAY", "50ms", "LOG_BATCH_RECORDS", "100"));
    env.putAll(extra);
    Settings settings = Settings.of(env);
    LogForwarderConfig config = LogForwarderConfig.from(settings);
    settings.validate();
    checkpoints = new CheckpointStore(config.stateDir(), System::nanoTime);
    metrics = new LogForwarderMetrics(registry, checkpoints);
    ExportRequests requests = new ExportRequests(Resource.getDefault(), InstrumentationScopeInfo.create("test"));
    RecordFactory records = new RecordFactory(config.format(), System::nanoTime);
    encoder = new BatchEncoder(records::record, requests, new RequestBuffers(8));
    BlockingQueue<LogBatch> queue = new ArrayBlockingQueue<>(config.queuedBatches());
    Batcher batcher = new Batcher(queue, config.batchRecords(), config.batchBytes(), config.batchDelay(), System::nanoTime,
        () -> Thread.currentThread().isInterrupted(), encoder);
    tailer = new Tailer(config, checkpoints, records, batcher, metrics, System::nanoTime);
    shipper = new Shipper(new Collector(), requests, queue, checkpoints,
        new Backoff(Duration.ofMillis(20), Duration.ofMillis(50), new Random()), d -> Thread.sleep(d.toMillis()), metrics,
        config.exportsInFlight());
    tailing = new Thread(tailer, "test-tailer");
    shipping = new Thread(shipper, "test-shipper");
    shipping.start();
    tailing.start();
  }

  /** Keeps what it receives while accepting; answers "retry" (as a 503 would) while not. */
  private final class Collector implements LogSender {
    @Override
    public SendResult send(byte[] request, int length, int records) throws InterruptedException {
      if (!accepting || acceptable.getAndUpdate(n -> Math.max(0, n - 1)) == 0) {
        return new SendResult(ExportOutcome.RETRY, 0, Optional.empty(), "refused by the test");
      }
      try {
        ExportLogsServiceRequest decoded = ExportLogsServiceRequest.parseFrom(
            com.google.protobuf.CodedInputStream.newInstance(request, 0, length));
        decoded.getResourceLogsList().forEach(r -> r.getScopeLogsList().forEach(s -> s.getLogRecordsList()
            .forEach(l -> received.add(l.getBody().getStringValue()))));
      } catch (java.io.IOException e) {
        throw new IllegalStateException(e);
      }
      return new SendResult(ExportOutcome.ACCEPTED, 0, Optional.empty(), "");
    }

    @Override
    public void shutdown() {}
  }

  boolean tailing() {
    return tailer.tailing();
  }

  double gauge(String name) {
    return registry.get(name).gauge().value();
  }

  double counter(String name, String... tags) {
    return registry.get(name).tags(tags).counter().count();
  }

  @Override
  public void close() throws InterruptedException {
    tailer.stop(System.nanoTime());
    tailer.awaitDone(5000);
    tailing.interrupt();
    tailing.join(5000);
    // Not interrupted: the shipper then waits for the positions being written, which must not land in
    // a state directory the test is deleting.
    shipper.abandon();
    shipping.join(5000);
    encoder.close();
  }
}
