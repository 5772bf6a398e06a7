package dev.sidecars.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sidecars.demo.PortBlock;
import dev.sidecars.metricsproxy.MetricsProxyMain;
import dev.sidecars.runtime.PortInUseException;
import dev.sidecars.runtime.Sidecar;
import dev.sidecars.runtime.StartLine;
import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.lifecycle.Lifecycle;
import dev.sidecars.runtime.telemetry.ExportFailureLog;
import dev.sidecars.runtime.telemetry.OtlpDestinations;
import io.opentelemetry.exporter.internal.FailedExportException;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The messages the docs quote are the ones the code prints: each is made here by the code that prints it,
 * with the values the docs use, and must appear in the docs character for character. Messages built inline
 * (the log-forwarder's) must appear, as the docs quote them, in the source that logs them.
 */
class QuotedMessagesTest {
  private static final Path ROOT = Path.of(System.getProperty("docs.root", "..")).toAbsolutePath().normalize();

  @Test
  void aTakenPortOfASidecar() throws IOException {
    String message = new PortInUseException("ADMIN_PORT", 15090, "checkout's metrics-proxy", null).getMessage();

    assertThat(page("docs/configuration.md")).contains("metrics-proxy: failed to start: " + message);
    assertThat(page("docs/operations.md")).contains(
        "`<sidecar>: failed to start: " + PortInUseException.describe("ADMIN_PORT", 15090, "checkout's metrics-proxy"));
  }

  /** As {@code Sidecar.main} prints each problem: the sidecar's name, then the problem. */
  @Test
  void badConfiguration() throws IOException {
    MetricsProxyMain metricsProxy = new MetricsProxyMain();
    for (Map.Entry<String, String> bad : Map.of("ADMIN_PORT", "abc", "OTEL_TRACES_SAMPLER", "bogus").entrySet()) {
      ConfigException problems = catchThrowableOfType(ConfigException.class, () -> Sidecar.start(metricsProxy,
          Map.of("TARGET_URL", "http://127.0.0.1:8080", bad.getKey(), bad.getValue())));

      assertThat(problems.problems()).hasSize(1);
      assertThat(page("docs/configuration.md")).contains(metricsProxy.name() + ": " + problems.problems().get(0));
    }
  }

  @Test
  void aTakenPortOfTheDemosBlock() throws IOException {
    List<String> report = PortBlock.report(List.of(
        new PortBlock.Port("ADMIN_PORT", 17090, "payment's metrics-proxy")), 17000);

    assertThat(page("docs/demo.md")).contains(String.join("\n", report.stream().map(l -> "[demo] " + l).toList()));
    assertThat(page("README.md").replaceAll("\\s+", " "))
        .contains("`" + new PortBlock.Port("ADMIN_PORT", 17090, "payment's metrics-proxy").inUse() + "`");
  }

  @Test
  void theStartLine() throws IOException {
    Map<String, Integer> ports = new LinkedHashMap<>();
    ports.put("proxy", 15001);
    ports.put("admin", 15090);
    OtlpDestinations defaults = OtlpDestinations.from(DefaultConfigProperties.createFromMap(
        Map.of("otel.exporter.otlp.protocol", "http/protobuf")));

    assertThat(page("docs/configuration.md")).contains(
        StartLine.format("metrics-proxy", "0.1.0-SNAPSHOT", ports, defaults.describe(defaults.exported())));
  }

  @Test
  void theStop() throws IOException {
    assertThat(page("docs/configuration.md")).contains("INFO Lifecycle: " + Lifecycle.stoppingMessage(Duration.ofSeconds(20)));
  }

  @Test
  void aFailedExport() throws IOException {
    String message = ExportFailureLog.failureMessage("spans", "http://localhost:4318/v1/traces",
        FailedExportException.httpFailedExceptionally(new ConnectException()));

    assertThat(page("docs/configuration.md")).contains("WARN otlp: " + message);
  }

  @Test
  void theLogForwardersExportMessagesAreInItsCode() throws IOException {
    String shipper = source("log-forwarder/src/main/java/dev/sidecars/logforwarder/ship/Shipper.java");
    String docs = page("docs/configuration.md").replaceAll("\\s+", " ");

    for (String quoted : List.of("failed (", "); reading pauses, retrying with back-off", " accepts logs again")) {
      assertThat(docs).contains(quoted);
      assertThat(shipper).as("Shipper.java logs \"%s\"", quoted).contains(quoted);
    }
    assertThat(docs).contains("`export to http://localhost:4318/v1/logs failed (HTTP 503); reading pauses, retrying with back-off`");
    assertThat(page("README.md").replaceAll("\\s+", " ")).contains("`export to http://127.0.0.1:17018/v1/logs failed (HTTP 503)`");
  }

  private static String page(String path) throws IOException {
    return Files.readString(ROOT.resolve(path));
  }

  private static String source(String path) throws IOException {
    return Files.readString(ROOT.resolve(path));
  }
}
