package dev.sidecars.traceinjector.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import dev.sidecars.testing.SidecarProcess;
import dev.sidecars.traceinjector.TraceInjectorMain;
import dev.sidecars.traceinjector.testing.Backend;
import dev.sidecars.traceinjector.testing.Injector;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * When a retry is wanted but not allowed (RETRY_MAX reached, or the budget empty), the sidecar's answer
 * gives the reason the last attempt failed, in the {@code X-Sidecar-Error} header, the access log's
 * {@code flags} and the span's {@code error.type} alike, not a reason recorded on the way.
 */
class RetryReasonTest {
  @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();

  @Test
  void aResetAfterARefusedConnectWithNoRetryLeftIsReportedAsAReset() {
    int dead = Backend.closedPort();
    try (Backend dropping = Backend.start("dropping").behave(Backend.Behaviour.drop());
        Injector injector = Injector.startFirstPick(Map.of(
            "UPSTREAMS", "svc=http://127.0.0.1:" + dead + "|" + dropping.url(),
            "RETRY_MAX", "1", "BREAKER_FAILURES", "100", "EJECT_AFTER_FAILURES", "100"))) {
      HttpResponse<String> response = injector.get("/svc/x");

      assertThat(dropping.seen()).as("the retry after the refused connect reached the second endpoint").hasSize(1);
      assertThat(response.statusCode()).isEqualTo(502);
      assertThat(response.headers().firstValue("X-Sidecar-Error")).hasValue("connection_reset");
    }
  }

  @Test
  void aResetWithTheBudgetEmptyIsReportedAsAResetInHeaderAccessLogAndSpan() throws Exception {
    try (Backend dropping = Backend.start("dropping").behave(Backend.Behaviour.drop())) {
      Map<String, String> env = new LinkedHashMap<>(collector.otelEnvironment());
      env.putAll(Map.of("PROXY_PORT", "0", "ADMIN_PORT", "0", "BIND_ADDRESS", "127.0.0.1",
          "OTEL_SERVICE_NAME", "checkout", "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none",
          "UPSTREAMS", "svc=" + dropping.url(), "RETRY_BUDGET_MIN", "0", "RETRY_BUDGET_PERCENT", "0",
          "BREAKER_FAILURES", "100"));
      try (SidecarProcess sidecar = SidecarProcess.start(TraceInjectorMain.class, env)) {
        HttpResponse<String> response = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sidecar.port("proxy") + "/svc/x"))
                .timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(response.headers().firstValue("X-Sidecar-Error")).hasValue("connection_reset; retry_budget_exhausted");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(sidecar.stdout())
            .anyMatch(line -> line.contains("\"status\":502")
                && line.contains("\"flags\":\"UC\"")));
        List<Received<Span>> spans = collector.awaitSpans("checkout", 1);
        assertThat(spans.get(0).item().getAttributesList())
            .anyMatch(a -> a.getKey().equals("error.type") && a.getValue().getStringValue().equals("connection_reset"));
      }
    }
  }
}
