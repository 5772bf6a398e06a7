package dev.sidecars.logforwarder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.Signal;
import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.parse.FileAttributes;
import dev.sidecars.logforwarder.parse.LineFormat;
import dev.sidecars.logforwarder.parse.RecordFactory;
import dev.sidecars.logforwarder.ship.Backoff;
import dev.sidecars.logforwarder.ship.BatchEncoder;
import dev.sidecars.logforwarder.ship.ExportRequests;
import dev.sidecars.logforwarder.ship.LogBatch;
import dev.sidecars.logforwarder.ship.LogSender;
import dev.sidecars.logforwarder.ship.OtlpLogExporters;
import dev.sidecars.logforwarder.ship.RequestBuffers;
import dev.sidecars.logforwarder.ship.SendResult;
import dev.sidecars.logforwarder.ship.Shipper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipper against the real stub and the real OTLP/HTTP sender, with the sleeper recorded instead of
 * slept: the retry schedule is checked exactly, in no time.
 */
class ShipperTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension();

  @TempDir Path state;

  private final RecordFactory records = new RecordFactory(LineFormat.of(LineFormat.Kind.TEXT), System::nanoTime);
  private final ExportRequests requests = new ExportRequests(Resource.getDefault(), InstrumentationScopeInfo.create("test"));
  private final BatchEncoder encoder = new BatchEncoder(records::record, requests, new RequestBuffers(2));
  private final FileIdentity file = new FileIdentity("first line".getBytes(StandardCharsets.UTF_8), 0, "/logs/app.log",
      FileAttributes.of("/logs/app.log", "app.log"));

  @AfterEach
  void closeEncoder() {
    encoder.close();
  }

  /** The real OTLP/HTTP sender, to the stub. */
  private static LogSender otlpSender() {
    return OtlpLogExporters.sender(DefaultConfigProperties.createFromMap(
        Map.of("otel.exporter.otlp.endpoint", collector.otlpHttpUrl(), "otel.exporter.otlp.protocol", "http/protobuf")),
        Resource.getDefault(), InstrumentationScopeInfo.create("test"), "test", 2);
  }

  private CheckpointStore checkpoints() {
    CheckpointStore checkpoints = new CheckpointStore(Optional.of(state), System::nanoTime);
    checkpoints.track(file);
    return checkpoints;
  }

  /** What a test sender does around the real send, told whether the request holds the first batch. */
  @FunctionalInterface
  private interface Around {
    SendResult send(boolean firstBatch, Send send) throws InterruptedException;
  }

  @FunctionalInterface
  private interface Send {
    SendResult send() throws InterruptedException;
  }

  /** {@code sender} with {@code around} wrapped around each send. */
  private static LogSender around(LogSender sender, Around around) {
    return new LogSender() {
      @Override
      public SendResult send(byte[] request, int length, int records) throws InterruptedException {
        boolean first = new String(request, 0, length, StandardCharsets.ISO_8859_1).contains("first line");
        return around.send(first, () -> sender.send(request, length, records));
      }

      @Override
      public void shutdown() {
        sender.shutdown();
      }
    };
  }

  /**
   * A shipper with two exports in flight and two one-line batches queued ("first line", "second line"),
   * told to finish once they are shipped.
   */
  private Shipper twoBatchesInFlight(LogSender sender) throws InterruptedException {
    CheckpointStore checkpoints = checkpoints();
    BlockingQueue<LogBatch> queue = new ArrayBlockingQueue<>(2);
    queue.add(batch(0, "first line"));
    queue.add(batch(11, "second line"));
    Shipper shipper = new Shipper(sender, requests, queue, checkpoints,
        new Backoff(Duration.ofMillis(1), Duration.ofMillis(1), new Random(1)), d -> {},
        new LogForwarderMetrics(new SimpleMeterRegistry(), checkpoints), 2);
    shipper.finish();
    return shipper;
  }

  /** A sealed batch of {@code lines} of {@link #file}, the first starting at {@code offset}. */
  private LogBatch batch(long offset, String... lines) throws InterruptedException {
    LogBatch batch = new LogBatch(System.nanoTime(), lines.length, encoder);
    for (String line : lines) {
      offset += line.length() + 1;
      batch.add(records.entry(line, false, false, file.fileAttributes()), file, offset, line.length());
    }
    batch.seal();
    return batch;
  }

  @Test
  void retriesA503WithGrowingJitteredWaitsThenCommitsThePosition() throws Exception {
    collector.fail(Signal.LOGS, 503, 6);
    LogSender sender = otlpSender();
    CheckpointStore checkpoints = checkpoints();
    BlockingQueue<LogBatch> queue = new ArrayBlockingQueue<>(1);
    queue.add(batch(0, "first line", "second line"));
    List<Duration> waits = new ArrayList<>();
    LogForwarderMetrics metrics = new LogForwarderMetrics(new SimpleMeterRegistry(), checkpoints);
    Shipper shipper = new Shipper(sender, requests, queue, checkpoints,
        new Backoff(Duration.ofMillis(200), Duration.ofSeconds(3), new Random(3)), waits::add, metrics, 2);
    shipper.finish();
    List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Logger log = java.util.logging.Logger.getLogger(Shipper.class.getName());
    java.util.logging.Handler capture = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord record) {
        logged.add(record.getMessage());
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    log.addHandler(capture);
    try {
      shipper.run(); // returns once the queue is empty
    } finally {
      log.removeHandler(capture);
    }

    // The user is told where the exports go, once when they start failing and once when they work again.
    String endpoint = collector.otlpHttpUrl() + "/v1/logs";
    assertThat(logged).containsExactly(
        "export to " + endpoint + " failed (HTTP 503); reading pauses, retrying with back-off",
        "collector at " + endpoint + " accepts logs again");
    assertThat(waits).hasSize(6);
    for (int attempt = 0; attempt < waits.size(); attempt++) {
      long ceiling = Math.min(3000, 200L << attempt);
      assertThat(waits.get(attempt).toMillis()).as("wait %d", attempt).isBetween(ceiling / 2, ceiling);
    }
    assertThat(collector.logs(null)).hasSize(2);
    assertThat(file.committed()).isEqualTo(23);
    assertThat(metrics.sendsRetried.count()).isEqualTo(6);
    assertThat(metrics.recordsSent.count()).isEqualTo(2);
    sender.shutdown();
  }

  /**
   * Two batches in flight, the second accepted first: its position waits for the first batch, so a crash
   * between the two answers re-reads both instead of skipping the first one's lines.
   */
  @Test
  void aBatchAcceptedBeforeAnEarlierOneIsCommittedOnlyAfterIt() throws Exception {
    LogSender otlp = otlpSender();
    CountDownLatch firstMaySend = new CountDownLatch(1);
    CountDownLatch secondAccepted = new CountDownLatch(1);
    // The real sender, with the first batch held back until the second was answered.
    LogSender secondFirst = around(otlp, (first, send) -> {
      if (first) {
        firstMaySend.await();
      }
      SendResult result = send.send();
      if (!first) {
        secondAccepted.countDown();
      }
      return result;
    });
    Shipper shipper = twoBatchesInFlight(secondFirst);
    Thread shipping = new Thread(shipper);
    shipping.start();

    assertThat(secondAccepted.await(10, TimeUnit.SECONDS)).as("the second batch is sent while the first waits").isTrue();
    assertThat(collector.logs(null)).hasSize(1);
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
        .untilAsserted(() -> assertThat(file.committed()).as("nothing committed before the first batch").isZero());

    firstMaySend.countDown();
    shipping.join(10_000);
    assertThat(collector.logs(null)).hasSize(2);
    assertThat(file.committed()).isEqualTo(23);
    assertThat(new String(java.nio.file.Files.readAllBytes(state.resolve("checkpoints.json")), StandardCharsets.UTF_8))
        .contains("23");
    otlp.shutdown();
  }

  /** A sender that fails outright stops shipping where readiness sees it, and a later batch does not commit. */
  @Test
  void aSenderFailureStopsShippingAndNothingAfterTheFailedBatchCommits() throws Exception {
    LogSender otlp = otlpSender();
    LogSender firstBreaks = around(otlp, (first, send) -> {
      if (first) {
        throw new IllegalStateException("a sender bug");
      }
      return send.send();
    });
    Shipper shipper = twoBatchesInFlight(firstBreaks);
    shipper.run();

    assertThat(shipper.failure()).get().extracting(Throwable::getMessage).isEqualTo("a sender bug");
    assertThat(file.committed()).as("the first batch failed: neither it nor the second is committed").isZero();
    otlp.shutdown();
  }
}
