package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.testing.SidecarProcess;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The metrics-proxy jar's main as a user runs it: admin endpoints, honest readiness, SIGTERM, bad config. */
class MetricsProxyMainTest {
  @Test
  void servesItsAdminPortAndStopsWithExitZero() {
    try (SidecarProcess sidecar = SidecarProcess.start(MetricsProxyMain.class, Map.of(
        "ADMIN_PORT", "0", "BIND_ADDRESS", "127.0.0.1", "OTEL_TRACES_EXPORTER", "none",
        "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none"))) {
      assertThat(sidecar.startLine()).startsWith("metrics-proxy ");
      assertThat(sidecar.admin("/healthz").statusCode()).isEqualTo(200);
      assertThat(sidecar.admin("/readyz").statusCode()).isEqualTo(503);
      assertThat(sidecar.admin("/readyz").body()).contains("not built yet");
      assertThat(sidecar.admin("/metrics").headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
      assertThat(sidecar.stop(Duration.ofSeconds(30))).isZero();
    }
  }

  @Test
  void refusesABadVariableWithExitTwo() {
    SidecarProcess.Result result = SidecarProcess.run(MetricsProxyMain.class, Map.of("ADMIN_PORT", "admin"), Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).containsExactly("metrics-proxy: ADMIN_PORT=\"admin\": expected a port number 0-65535 (0 picks a free port)");
  }
}
