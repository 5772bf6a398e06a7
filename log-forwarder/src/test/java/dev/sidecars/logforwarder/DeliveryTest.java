package dev.sidecars.logforwarder;

import static dev.sidecars.logforwarder.ForwarderHarness.append;
import static dev.sidecars.logforwarder.ForwarderHarness.bodies;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.collector.CollectorStub;
import dev.sidecars.collector.CollectorStubConfig;
import dev.sidecars.collector.Signal;
import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.logforwarder.ship.Shipper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What the collector's answers do: retry on 503, skip a 400 batch, split on 413, commit only when accepted. */
class DeliveryTest extends OneForwarderPerTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension().timeout(Duration.ofSeconds(60));

  @Override
  CollectorStubExtension collector() {
    return collector;
  }

  private double metric(String name) {
    return sidecar.registry().scrape().lines()
        .filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }


  @Test
  void aCollectorAnswering503IsRetriedUntilItRecoversAndEveryLineArrives() throws Exception {
    start(Map.of("LOG_BATCH_RECORDS", "50", "LOG_QUEUED_BATCHES", "2"));
    collector.fail(Signal.LOGS, 503, 12);
    NumberedWriter writer = new NumberedWriter(logs.resolve("app.log"), 5);
    try (NumberedWriter running = writer.start()) {
      await().atMost(Duration.ofSeconds(60)).until(() -> metric("log_forwarder_sends_failed_total") >= 12);
    }
    int written = writer.written();
    await().atMost(Duration.ofSeconds(60)).until(() -> bodies(collector).size() >= written);
    NumberedWriter.assertEachOnce(bodies(collector), written);
    assertThat(metric("log_forwarder_records_sent_total")).isEqualTo(written);
  }

  @Test
  void aCollectorThatIsGoneThenBackOnTheSamePortReceivesEveryLine() throws Exception {
    CollectorStub first = CollectorStub.start(CollectorStubConfig.builder().freePorts().build());
    int port = first.ports().get("otlp-http");
    String endpoint = first.otlpHttpUrl();
    first.close();
    start(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
    append(logs.resolve("app.log"), NumberedLines.of(1, 30));
    await().atMost(Duration.ofSeconds(30)).until(() -> metric("log_forwarder_sends_failed_total") >= 3);
    try (CollectorStub back = CollectorStub.start(CollectorStubConfig.builder().freePorts().otlpHttpPort(port).build())) {
      await().atMost(Duration.ofSeconds(30)).until(() -> back.store().logs().newest(null, null, 1000).size() >= 30);
      NumberedWriter.assertEachOnce(
          back.store().logs().newest(null, null, 1000).stream().map(r -> r.item().getBody().getStringValue()).toList(), 30);
    }
  }

  @Test
  void whileTheCollectorRefusesReadingPausesSoMemoryStaysBoundedAndTheFileIsTheBuffer() throws Exception {
    start(Map.of("LOG_BATCH_BYTES", "256KiB", "LOG_QUEUED_BATCHES", "2", "LOG_EXPORTS_IN_FLIGHT", "2"));
    collector.fail(Signal.LOGS, 503, 1_000_000);
    Path file = logs.resolve("app.log");
    int lines = 90_000; // 44 bytes each: about 3.8 MiB
    for (int from = 1; from <= lines; from += 10_000) {
      append(file, NumberedLines.of(from, from + 9_999));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> metric("log_forwarder_sends_failed_total") >= 3);
    double read = metric("log_forwarder_read_bytes_total");
    // The queued batches, the two in flight, the one being filled and one read chunk: nothing more is held.
    assertThat(read).isLessThan(6 * 256 * 1024 + 256 * 1024).isLessThan(Files.size(file) / 2.0);
    assertThat(metric("log_forwarder_lag_bytes")).isEqualTo(Files.size(file));
    collector.stub().faults().clear();
    await().atMost(Duration.ofSeconds(90)).until(() -> bodies(collector).size() >= lines);
    NumberedWriter.assertEachOnce(bodies(collector), lines);
  }

  @Test
  void aFileAppearingWhileTheQueueIsFullIsFollowedAndReadOnceTheCollectorIsBackEvenIfRotatedAway() throws Exception {
    start(Map.of("LOG_BATCH_RECORDS", "100", "LOG_QUEUED_BATCHES", "2", "LOG_EXPORTS_IN_FLIGHT", "2"));
    collector.fail(Signal.LOGS, 503, 1_000_000);
    Path app = logs.resolve("app.log");
    append(app, NumberedLines.of(1, 30_000)); // 1.3 MB: far more than two queued batches of 100 records
    await().atMost(Duration.ofSeconds(30)).until(() -> metric("log_forwarder_sends_failed_total") >= 3);
    // Held: the two batches in flight, two queued, the full one waiting for room; the rest stays in the file.
    double held = 5 * 100 * 44;
    assertThat(metric("log_forwarder_read_bytes_total")).as("reading paused").isLessThanOrEqualTo(held);

    Path later = logs.resolve("later.log");
    append(later, NumberedLines.of(50_001, 50_050));
    await().atMost(Duration.ofSeconds(30)).until(() -> metric("log_forwarder_files_watched") == 2);
    // Rotated out of LOG_PATHS before the collector is back: only a forwarder that already follows it reads it.
    Files.move(later, logs.resolve("later.log.1"));
    assertThat(metric("log_forwarder_read_bytes_total")).as("still paused").isLessThanOrEqualTo(held);

    collector.stub().faults().clear();
    await().atMost(Duration.ofSeconds(90)).until(() -> bodies(collector).size() >= 30_050);
    Map<Integer, Integer> counts = NumberedWriter.counts(bodies(collector));
    assertThat(counts.keySet()).containsExactlyInAnyOrderElementsOf(
        IntStream.concat(IntStream.rangeClosed(1, 30_000), IntStream.rangeClosed(50_001, 50_050)).boxed().toList());
    assertThat(counts.values()).allMatch(n -> n == 1);
  }

  @Test
  void positionsAreCommittedOnlyAfterTheCollectorAcceptedTheLines() throws Exception {
    start(Map.of());
    collector.fail(Signal.LOGS, 503, 1_000_000);
    Path file = logs.resolve("app.log");
    append(file, NumberedLines.of(1, 20));
    await().atMost(Duration.ofSeconds(30)).until(() -> metric("log_forwarder_sends_failed_total") >= 3);
    assertThat(committedOffset()).isZero();
    collector.stub().faults().clear();
    collector.awaitLogs(ForwarderHarness.SERVICE, 20);
    long size = Files.size(file);
    await().atMost(Duration.ofSeconds(30)).until(() -> committedOffset() == size);
  }

  @Test
  void aBatchRefusedWith400IsCountedAndSkippedAndTheStreamGoesOn() throws Exception {
    start(Map.of());
    collector.fail(Signal.LOGS, 400, 1);
    Path file = logs.resolve("app.log");
    append(file, NumberedLines.of(1, 10));
    await().atMost(Duration.ofSeconds(30)).until(() -> metric("log_forwarder_records_rejected_total") == 10);
    append(file, NumberedLines.of(11, 20));
    collector.awaitLogs(ForwarderHarness.SERVICE, 10);
    assertThat(NumberedWriter.counts(bodies(collector)).keySet()).containsExactlyInAnyOrderElementsOf(
        IntStream.rangeClosed(11, 20).boxed().toList());
    long size = Files.size(file);
    await().atMost(Duration.ofSeconds(30)).until(() -> committedOffset() == size);
  }

  /**
   * A collector whose body limit (4 KiB) is below a whole batch refuses it with 413 every time, however
   * often it is sent: only splitting it delivers it (a fault answering 413 once would pass with a plain
   * retry too).
   */
  @Test
  void aCollectorThatRefusesEveryWholeBatchAs413ReceivesEveryLineOnceTheBatchesAreSplit() throws Exception {
    try (CollectorStub small = CollectorStub.start(CollectorStubConfig.builder().freePorts().maxBodyBytes(4096).build())) {
      start(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", small.otlpHttpUrl(), "LOG_BATCH_RECORDS", "200"));
      append(logs.resolve("app.log"), NumberedLines.of(1, 200));
      await().atMost(Duration.ofSeconds(30)).until(() -> small.store().logs().newest(null, null, 1000).size() >= 200);
      NumberedWriter.assertEachOnce(
          small.store().logs().newest(null, null, 1000).stream().map(r -> r.item().getBody().getStringValue()).toList(), 200);
      assertThat(small.stats().rejected()).as("whole batches refused as too large").isPositive();
      assertThat(metric("log_forwarder_records_rejected_total")).isZero();
      assertThat(metric("log_forwarder_records_sent_total")).isEqualTo(200);
    }
  }

  @Test
  void aThrottlingAnswerWithRetryAfterIsWaitedForBeforeTheNextAttempt() throws Exception {
    // LOG_RETRY_INITIAL=100ms and LOG_RETRY_MAX=1s: on its own back-off the forwarder would retry within 1 s.
    start(Map.of());
    collector.throttle(Signal.LOGS, 429, 3, 1);
    append(logs.resolve("app.log"), NumberedLines.of(1, 5));
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10))
        .until(() -> metric("log_forwarder_sends_failed_total") >= 1);
    long refusedNanos = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10)).until(() -> bodies(collector).size() >= 5);
    long waitedMillis = (System.nanoTime() - refusedNanos) / 1_000_000;
    assertThat(waitedMillis).as("Retry-After: 3 honoured").isGreaterThanOrEqualTo(2_500);
    NumberedWriter.assertEachOnce(bodies(collector), 5);
    assertThat(metric("log_forwarder_sends_failed_total")).isEqualTo(1);
  }

  @Test
  void recordsRejectedInAPartialSuccessAreCountedLoggedOnceAndNotSentAgain() throws Exception {
    start(Map.of()); // first: starting configures logging anew
    try (WarningCapture shipperLog = WarningCapture.of(Shipper.class)) {
      collector.rejectPartially(Signal.LOGS, 3, 2);
      Path file = logs.resolve("app.log");
      append(file, NumberedLines.of(1, 10));
      await().atMost(Duration.ofSeconds(30)).until(() -> metric("log_forwarder_records_rejected_total") == 3);
      append(file, NumberedLines.of(11, 20));
      await().atMost(Duration.ofSeconds(30)).until(() -> metric("log_forwarder_records_rejected_total") == 6);
      append(file, NumberedLines.of(21, 30));
      long size = Files.size(file);
      await().atMost(Duration.ofSeconds(30)).until(() -> committedOffset() == size);
      // The stub stored all but the rejected ones; the forwarder counts the rest as sent and retries nothing.
      await().atMost(Duration.ofSeconds(30)).until(() -> bodies(collector).size() >= 24);
      assertThat(bodies(collector)).hasSize(24).doesNotHaveDuplicates();
      assertThat(metric("log_forwarder_records_sent_total")).isEqualTo(24);
      assertThat(metric("log_forwarder_sends_failed_total")).isZero();
      assertThat(shipperLog.warnings()).filteredOn(w -> w.contains("partial success")).hasSize(1);
    }
  }

  @Test
  void selfMetricsShowFilesLinesBytesLagAndCheckpointAge() throws Exception {
    start(Map.of());
    append(logs.resolve("app.log"), NumberedLines.of(1, 5));
    collector.awaitLogs(ForwarderHarness.SERVICE, 5);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      String text = sidecar.registry().scrape();
      assertThat(text).contains("log_forwarder_files_watched 1.0", "log_forwarder_lines_read_total 5.0",
          "log_forwarder_read_bytes_total 220.0", "log_forwarder_records_sent_total 5.0",
          "log_forwarder_checkpoint_age_seconds 0.0", "log_forwarder_lag_bytes{path=\"" + logs.resolve("app.log") + "\"} 0.0");
    });
  }

  @Test
  void selfMetricsArePushedOverOtlpToo() throws Exception {
    start(Map.of("OTEL_METRICS_EXPORTER", "otlp"));
    append(logs.resolve("app.log"), NumberedLines.of(1, 7));
    collector.awaitLogs(ForwarderHarness.SERVICE, 7);
    // The counter's latest pushed point reaches 7: the same meter /metrics shows, sent over OTLP.
    collector.awaitMetric(ForwarderHarness.SERVICE, "log.forwarder.lines.read",
        points -> !points.isEmpty() && sumValue(points.get(points.size() - 1).item()) == 7);
    collector.awaitMetric(ForwarderHarness.SERVICE, "log.forwarder.lag");
  }

  private static double sumValue(io.opentelemetry.proto.metrics.v1.Metric metric) {
    var point = metric.getSum().getDataPoints(0);
    return point.hasAsInt() ? point.getAsInt() : point.getAsDouble();
  }

  private long committedOffset() throws IOException {
    Path file = state.resolve("checkpoints.json");
    if (!Files.exists(file)) {
      return 0;
    }
    JsonNode files = new ObjectMapper().readTree(file.toFile()).get("files");
    long max = 0;
    for (JsonNode f : files) {
      max = Math.max(max, f.get("offset").asLong());
    }
    return max;
  }
}
