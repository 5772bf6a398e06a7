package dev.sidecars.logforwarder;

import static dev.sidecars.logforwarder.ForwarderHarness.append;
import static dev.sidecars.logforwarder.ForwarderHarness.attribute;
import static dev.sidecars.logforwarder.ForwarderHarness.bodies;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.SeverityNumber;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What one line becomes: fields, severity, time, trace context, marks for bad bytes and long lines. */
class ParsingAndBytesTest extends OneForwarderPerTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension().timeout(Duration.ofSeconds(60));

  @Override
  CollectorStubExtension collector() {
    return collector;
  }

  @Test
  void textLinesArriveInOrderWithFileAttributesSeverityAndCrlfStripped() throws Exception {
    start(Map.of("POD_NAME", "app-7f9c", "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test"));
    Path file = logs.resolve("app.log");
    append(file, "2024-05-01 10:00:00 INFO started\r\nWARN disk almost full\nplain line\n");
    List<Received<LogRecord>> records = collector.awaitLogs(ForwarderHarness.SERVICE, 3);
    assertThat(bodies(collector)).containsExactly("2024-05-01 10:00:00 INFO started", "WARN disk almost full", "plain line");
    assertThat(attribute(records.get(0), "log.file.path")).contains(file.toString());
    assertThat(attribute(records.get(0), "log.file.name")).contains("app.log");
    assertThat(records.get(0).item().getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_INFO);
    assertThat(records.get(1).item().getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_WARN);
    assertThat(records.get(2).item().getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_UNSPECIFIED);
    // The records describe the app as the sidecar's own telemetry does.
    Map<String, String> resource = new java.util.HashMap<>();
    records.get(0).resource().getAttributesList().forEach(kv -> resource.put(kv.getKey(), kv.getValue().getStringValue()));
    assertThat(resource).containsEntry("service.name", ForwarderHarness.SERVICE).containsEntry("k8s.pod.name", "app-7f9c")
        .containsEntry("deployment.environment.name", "test").containsEntry("sidecar.name", "log-forwarder");
  }

  @Test
  void jsonFieldsAreMappedToBodySeverityTimeTraceContextAndAttributes() throws Exception {
    start(Map.of());
    String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    String spanId = "00f067aa0ba902b7";
    append(logs.resolve("app.log"),
        "{\"time\":\"2024-05-01T10:00:00.5Z\",\"level\":\"error\",\"msg\":\"payment failed\",\"trace_id\":\"" + traceId
            + "\",\"span_id\":\"" + spanId + "\",\"user\":\"u1\",\"attempt\":3}\n"
            + "{\"ts\":1714557600123,\"severity\":\"warn\",\"message\":\"slow\",\"traceId\":\"" + traceId + "\",\"spanId\":\"" + spanId + "\"}\n"
            + "{\"@timestamp\":1714557600,\"log\":\"epoch seconds\",\"level\":30}\n");
    List<Received<LogRecord>> records = collector.awaitLogs(ForwarderHarness.SERVICE, 3);
    LogRecord first = records.get(0).item();
    assertThat(first.getBody().getStringValue()).isEqualTo("payment failed");
    assertThat(first.getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_ERROR);
    assertThat(first.getSeverityText()).isEqualTo("error");
    assertThat(first.getTimeUnixNano()).isEqualTo(1714557600_500_000_000L);
    assertThat(HexFormat.of().formatHex(first.getTraceId().toByteArray())).isEqualTo(traceId);
    assertThat(HexFormat.of().formatHex(first.getSpanId().toByteArray())).isEqualTo(spanId);
    assertThat(attribute(records.get(0), "user")).contains("u1");
    assertThat(attribute(records.get(0), "attempt")).contains("3");
    assertThat(attribute(records.get(0), "msg")).isEmpty();
    LogRecord second = records.get(1).item();
    assertThat(second.getBody().getStringValue()).isEqualTo("slow");
    assertThat(second.getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_WARN);
    assertThat(second.getTimeUnixNano()).isEqualTo(1714557600_123_000_000L);
    assertThat(HexFormat.of().formatHex(second.getTraceId().toByteArray())).isEqualTo(traceId);
    LogRecord third = records.get(2).item();
    assertThat(third.getBody().getStringValue()).isEqualTo("epoch seconds");
    assertThat(third.getTimeUnixNano()).isEqualTo(1714557600_000_000_000L);
    assertThat(third.getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_INFO);
  }

  @Test
  void regexFormatTakesNamedGroups() throws Exception {
    start(Map.of("LOG_FORMAT", "(?<time>\\S+) \\[(?<level>\\w+)\\] (?<component>\\w+): (?<message>.*)"));
    append(logs.resolve("app.log"), "2024-05-01T10:00:00Z [warn] db: pool exhausted\nnot matching\n");
    List<Received<LogRecord>> records = collector.awaitLogs(ForwarderHarness.SERVICE, 2);
    assertThat(records.get(0).item().getBody().getStringValue()).isEqualTo("pool exhausted");
    assertThat(records.get(0).item().getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_WARN);
    assertThat(attribute(records.get(0), "component")).contains("db");
    assertThat(records.get(0).item().getTimeUnixNano()).isEqualTo(1714557600_000_000_000L);
    assertThat(records.get(1).item().getBody().getStringValue()).isEqualTo("not matching");
    assertThat(attribute(records.get(1), "log.record.parse_failed")).contains("true");
  }

  @Test
  void aTenMegabyteLineIsCutAndMarkedAndTheNextLineArrivesWhole() throws Exception {
    start(Map.of());
    String huge = "x".repeat(10 * 1024 * 1024);
    append(logs.resolve("app.log"), "before\n" + huge + "\nafter\n");
    List<Received<LogRecord>> records = collector.awaitLogs(ForwarderHarness.SERVICE, 3);
    assertThat(bodies(collector)).hasSize(3);
    assertThat(records.get(0).item().getBody().getStringValue()).isEqualTo("before");
    assertThat(records.get(1).item().getBody().getStringValue()).hasSize(65536);
    assertThat(attribute(records.get(1), "log.record.truncated")).contains("true");
    assertThat(records.get(2).item().getBody().getStringValue()).isEqualTo("after");
    assertThat(attribute(records.get(2), "log.record.truncated")).isEmpty();
  }

  @Test
  void binaryGarbageIsShippedWithReplacementCharactersAndMarked() throws Exception {
    start(Map.of());
    byte[] garbage = new byte[4096];
    new Random(42).nextBytes(garbage);
    for (int i = 0; i < garbage.length; i++) {
      if (garbage[i] == '\n') {
        garbage[i] = (byte) 0xFF;
      }
    }
    Path file = logs.resolve("app.log");
    append(file, "good line\n");
    append(file, garbage);
    append(file, "\nhéllo wörld\n");
    List<Received<LogRecord>> records = collector.awaitLogs(ForwarderHarness.SERVICE, 3);
    assertThat(records.get(1).item().getBody().getStringValue()).contains("\uFFFD");
    assertThat(attribute(records.get(1), "log.record.invalid_utf8")).contains("true");
    assertThat(records.get(2).item().getBody().getStringValue()).isEqualTo("héllo wörld");
    assertThat(attribute(records.get(2), "log.record.invalid_utf8")).isEmpty();
  }

  @Test
  void javaStackTracesAreJoinedPerFileAndTheLastEntryIsFlushedWhenQuiet() throws Exception {
    start(Map.of("LOG_MULTILINE_START", "^\\d{4}-\\d{2}-\\d{2}"));
    Path a = logs.resolve("a.log");
    Path b = logs.resolve("b.log");
    append(a, "2024-05-01 10:00:00 ERROR boom\njava.lang.IllegalStateException: bad\n\tat x.Y.z(Y.java:1)\n");
    append(b, "2024-05-01 10:00:01 INFO other file\n\tat not.joined.to.a\n");
    append(a, "\tat x.Y.main(Y.java:2)\n2024-05-01 10:00:02 INFO next\n");
    collector.awaitLogs(ForwarderHarness.SERVICE, 3);
    assertThat(bodies(collector)).contains(
        "2024-05-01 10:00:00 ERROR boom\njava.lang.IllegalStateException: bad\n\tat x.Y.z(Y.java:1)\n\tat x.Y.main(Y.java:2)",
        "2024-05-01 10:00:01 INFO other file\n\tat not.joined.to.a",
        "2024-05-01 10:00:02 INFO next");
  }

  @Test
  void startAtEndSkipsWhatFilesHeldAtStartButReadsFilesThatAppearLaterFromTheirBeginning() throws Exception {
    append(logs.resolve("old.log"), "written before the start\n");
    start(Map.of("LOG_START_AT", "end"));
    await().atMost(Duration.ofSeconds(30)).until(() -> sidecar.registry().scrape().contains("log_forwarder_files_watched 1.0"));
    append(logs.resolve("old.log"), "appended after the start\n");
    append(logs.resolve("new.log"), "first line of a new file\n");
    collector.awaitLogs(ForwarderHarness.SERVICE, 2);
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(10)).until(() -> bodies(collector).size() == 2);
    assertThat(bodies(collector)).containsExactlyInAnyOrder("appended after the start", "first line of a new file");
  }

  @Test
  void aPartialLastLineIsFlushedWhenQuietButNotSplitWhileItGrows() throws Exception {
    start(Map.of("LOG_FLUSH_AFTER", "2s"));
    Path file = logs.resolve("app.log");
    append(file, "complete\npart one");
    append(file, " and part two");
    collector.awaitLogs(ForwarderHarness.SERVICE, 2);
    assertThat(bodies(collector)).containsExactly("complete", "part one and part two");
  }
}
