package dev.sidecars.runtime.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.exporter.internal.FailedExportException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A sidecar's exporters report a failed export once per run of failures, naming the endpoint and why, and
 * report the recovery; here with the real SDK exporting to a real server that refuses, then accepts.
 */
class ExportFailureLogTest {
  private final List<LogRecord> logged = new CopyOnWriteArrayList<>();
  private final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      logged.add(record);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };
  private final AtomicInteger status = new AtomicInteger(401);
  private HttpServer collector;

  @BeforeEach
  void listen() throws IOException {
    ExportFailureLog.LOG.addHandler(capture);
    ExportFailureLog.LOG.setLevel(Level.ALL);
    collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/v1/traces", exchange -> {
      exchange.getRequestBody().readAllBytes();
      exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(status.get(), -1);
      exchange.close();
    });
    collector.start();
  }

  @AfterEach
  void stop() {
    ExportFailureLog.LOG.removeHandler(capture);
    ExportFailureLog.LOG.setLevel(null);
    collector.stop(0);
  }

  @Test
  void aRefusedExportIsReportedOnceWithTheEndpointAndTheRecoveryToo() {
    String base = "http://127.0.0.1:" + collector.getAddress().getPort();
    SidecarTelemetry telemetry = SidecarTelemetry.create("example", "1.0", Map.of(
        "OTEL_EXPORTER_OTLP_ENDPOINT", base,
        "OTEL_BSP_SCHEDULE_DELAY", "10",
        "OTEL_METRICS_EXPORTER", "none",
        "OTEL_LOGS_EXPORTER", "none"));
    try {
      Tracer tracer = telemetry.tracer();
      tracer.spanBuilder("first").startSpan().end();
      await().atMost(Duration.ofSeconds(20)).until(() -> warnings().size() == 1);
      tracer.spanBuilder("second").startSpan().end();
      telemetry.sdk().getSdkTracerProvider().forceFlush().join(10, java.util.concurrent.TimeUnit.SECONDS);

      assertThat(warnings()).as("a run of failures is reported once").singleElement().isEqualTo(
          "exporting spans to " + base + "/v1/traces failed: the collector answered HTTP 401; "
              + "retried with each export, reported again when it works");

      status.set(200);
      tracer.spanBuilder("third").startSpan().end();
      await().atMost(Duration.ofSeconds(20)).until(() -> logged.stream()
          .anyMatch(r -> r.getLevel() == Level.INFO && r.getMessage().equals(
              "exporting spans to " + base + "/v1/traces works again, after 2 failed exports")));
    } finally {
      telemetry.shutdown(5000);
    }
  }

  @Test
  void theReasonSaysWhatWentWrongInWords() {
    assertThat(ExportFailureLog.reason(FailedExportException.httpFailedExceptionally(new ConnectException())))
        .isEqualTo("cannot connect (java.net.ConnectException)");
    assertThat(ExportFailureLog.reason(FailedExportException.httpFailedExceptionally(
        new HttpTimeoutException("request timed out"))))
        .isEqualTo("no answer in time (java.net.http.HttpTimeoutException: request timed out)");
    assertThat(ExportFailureLog.reason(null)).isEqualTo("the exporter gave no reason");
  }

  private List<String> warnings() {
    return logged.stream().filter(r -> r.getLevel() == Level.WARNING).map(LogRecord::getMessage).toList();
  }
}
