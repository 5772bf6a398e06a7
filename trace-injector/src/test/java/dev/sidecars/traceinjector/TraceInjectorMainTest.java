package dev.sidecars.traceinjector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.testing.SidecarProcess;
import dev.sidecars.traceinjector.testing.Backend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The trace-injector jar's main as a user runs it: proxy and admin ports, readiness, SIGTERM, bad config. */
class TraceInjectorMainTest {
  @Test
  void proxiesServesItsAdminPortAndStopsWithExitZero() throws Exception {
    try (Backend ledger = Backend.start("ledger");
        SidecarProcess sidecar = SidecarProcess.start(TraceInjectorMain.class, Map.of(
            "PROXY_PORT", "0", "ADMIN_PORT", "0", "BIND_ADDRESS", "127.0.0.1", "UPSTREAMS", "ledger=" + ledger.url(),
            "OTEL_TRACES_EXPORTER", "none", "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none"))) {
      assertThat(sidecar.startLine()).startsWith("trace-injector ").contains(" proxy=").contains(" admin=");
      assertThat(sidecar.admin("/healthz").statusCode()).isEqualTo(200);
      assertThat(sidecar.admin("/readyz").statusCode()).isEqualTo(200);

      HttpResponse<String> response = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sidecar.port("proxy") + "/ledger/entries")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(ledger.last().header("traceparent")).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]");

      assertThat(sidecar.admin("/metrics").body()).contains("http_client_request_duration_seconds");
      assertThat(sidecar.stop(Duration.ofSeconds(30))).isZero();
    }
  }

  @Test
  void keepsProxyingThroughTheDrainDelayAfterSigtermClosingConnectionsThenExitsZero() throws Exception {
    try (Backend ledger = Backend.start("ledger");
        SidecarProcess sidecar = SidecarProcess.start(TraceInjectorMain.class, Map.of(
            "PROXY_PORT", "0", "ADMIN_PORT", "0", "BIND_ADDRESS", "127.0.0.1", "UPSTREAMS", "ledger=" + ledger.url(),
            "DRAIN_DELAY", "8s", "SHUTDOWN_GRACE", "30s",
            "OTEL_TRACES_EXPORTER", "none", "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none"))) {
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      URI call = URI.create("http://127.0.0.1:" + sidecar.port("proxy") + "/ledger/entries");

      sidecar.process().destroy(); // SIGTERM
      await().atMost(Duration.ofSeconds(10)).until(() -> sidecar.admin("/readyz").statusCode() == 503);
      // The app is still finishing its own requests: its outbound calls must still go through.
      HttpResponse<String> during = client.send(HttpRequest.newBuilder(call).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(during.statusCode()).isEqualTo(200);
      assertThat(sidecar.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(sidecar.process().exitValue()).isZero();
    }
  }

  @Test
  void refusesBadVariablesWithExitTwoNamingEach() {
    SidecarProcess.Result result = SidecarProcess.run(TraceInjectorMain.class, Map.of(
        "ADMIN_PORT", "admin", "UPSTREAMS", "ledger=ftp://ledger", "OTEL_PROPAGATORS", "tracecontext,carrier-pigeon",
        "UPSTREAM_TLS", "mtls", "TLS_CERT_FILE", "no-such-dir/tls.crt", "TLS_KEY_FILE", "no-such-dir/tls.key",
        "TLS_CA_FILE", "no-such-dir/ca.crt"),
        Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).contains("trace-injector: ADMIN_PORT=\"admin\": expected a port number 0-65535 (0 picks a free port)");
    assertThat(result.stderr()).anyMatch(line -> line.startsWith("trace-injector: UPSTREAMS=\"ledger=ftp://ledger\""));
    assertThat(result.stderr()).anyMatch(line -> line.startsWith("trace-injector: TLS_CERT_FILE=\"no-such-dir/tls.crt\""));
    assertThat(result.stderr()).anyMatch(line -> line.startsWith("trace-injector: OTEL_PROPAGATORS="));
  }
}
