package dev.sidecars.logforwarder;

import static dev.sidecars.logforwarder.ForwarderHarness.append;
import static dev.sidecars.logforwarder.ForwarderHarness.attribute;
import static dev.sidecars.logforwarder.ForwarderHarness.bodies;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.SeverityNumber;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The standard exporter variables keep their meaning: protocol, per-signal endpoint, compression, headers. */
class ExportConfigurationTest extends OneForwarderPerTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension().timeout(Duration.ofSeconds(60));

  @Override
  CollectorStubExtension collector() {
    return collector;
  }

  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String SPAN_ID = "00f067aa0ba902b7";

  private void writeAndCheckTwoLines() {
    Path file = logs.resolve("app.log");
    append(file, "{\"level\":\"error\",\"msg\":\"payment failed\",\"trace_id\":\"" + TRACE_ID + "\",\"span_id\":\""
        + SPAN_ID + "\",\"attempt\":3,\"ok\":false}\nWARN plain text\n");
    List<Received<LogRecord>> records = collector.awaitLogs(ForwarderHarness.SERVICE, 2);
    assertThat(bodies(collector)).containsExactly("payment failed", "WARN plain text");
    LogRecord first = records.get(0).item();
    assertThat(first.getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_ERROR);
    assertThat(first.getSeverityText()).isEqualTo("error");
    assertThat(HexFormat.of().formatHex(first.getTraceId().toByteArray())).isEqualTo(TRACE_ID);
    assertThat(HexFormat.of().formatHex(first.getSpanId().toByteArray())).isEqualTo(SPAN_ID);
    assertThat(attribute(records.get(0), "attempt")).contains("3");
    assertThat(attribute(records.get(0), "ok")).contains("false");
    assertThat(attribute(records.get(1), "log.file.path")).contains(file.toString());
    assertThat(records.get(1).item().getSeverityNumber()).isEqualTo(SeverityNumber.SEVERITY_NUMBER_WARN);
    assertThat(records.get(1).scope().getName()).isEqualTo("log-forwarder");
  }

  @Test
  void overGrpcTheRecordsArriveWithTheSameFields() throws Exception {
    start(Map.of("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT", collector.otlpGrpcUrl()));
    writeAndCheckTwoLines();
  }

  @Test
  void theLogsEndpointIsUsedAsIsWithGzipAndHeaders() throws Exception {
    // The generic endpoint points nowhere: only a forwarder using the logs endpoint as given delivers.
    start(Map.of(
        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", collector.otlpHttpUrl() + "/v1/logs",
        "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip",
        "OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=blue"));
    writeAndCheckTwoLines();
  }
}
