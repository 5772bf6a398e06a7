package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.testing.SidecarProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The metrics-proxy jar's main as a user runs it, in its own process: drain on SIGTERM, access log, bad config. */
class MetricsProxyMainTest {
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void losesNoRequestAcrossSigtermAndExitsZero() throws Exception {
    try (TestBackend backend = new TestBackend();
        SidecarProcess sidecar = SidecarProcess.start(MetricsProxyMain.class, Map.of(
            "ADMIN_PORT", "0", "PROXY_PORT", "0", "BIND_ADDRESS", "127.0.0.1", "TARGET_URL", backend.url(),
            "ROUTES", "/users/{id}", "DRAIN_DELAY", "2s", "SHUTDOWN_GRACE", "20s",
            "OTEL_TRACES_EXPORTER", "none", "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none"))) {
      assertThat(sidecar.startLine()).startsWith("metrics-proxy ").contains("proxy=").contains("admin=");
      int port = sidecar.port("proxy");
      assertThat(sidecar.admin("/readyz").statusCode()).isEqualTo(200);

      ConcurrentLinkedQueue<Integer> statuses = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
      AtomicBoolean stopSending = new AtomicBoolean();
      ExecutorService clients = Executors.newFixedThreadPool(3);
      try {
        List<Future<?>> loops = new java.util.ArrayList<>();
        for (int t = 0; t < 3; t++) {
          loops.add(clients.submit(() -> {
            while (!stopSending.get()) {
              try {
                statuses.add(CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/users/1"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
              } catch (Exception e) {
                failures.add(e);
              }
            }
          }));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> statuses.size() >= 50);

        sidecar.process().destroy(); // SIGTERM
        // Started after SIGTERM, still running when the listener closes: it must finish.
        CompletableFuture<HttpResponse<String>> inFlight = CLIENT.sendAsync(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/slow?ms=6000")).build(),
            HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(10)).until(() -> sidecar.admin("/readyz").statusCode() == 503);
        int beforeReady = statuses.size();
        // Kubernetes takes a moment to remove the endpoint after readiness fails; keep sending meanwhile.
        await().atMost(Duration.ofSeconds(10)).until(() -> statuses.size() >= beforeReady + 20);
        stopSending.set(true);
        for (Future<?> loop : loops) {
          loop.get(30, TimeUnit.SECONDS);
        }
        // Past the drain delay, with the slow request still in flight, new requests are refused with 503
        // and their connection is closed, so keep-alive clients go elsewhere.
        AtomicReference<String> refused = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(10)).until(() -> {
          try (RawHttp raw = new RawHttp(port)) {
            refused.set(raw.send("GET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n").readToEnd());
          }
          return RawHttp.status(refused.get()) == 503;
        });
        assertThat(refused.get().toLowerCase(java.util.Locale.ROOT)).contains("connection: close");
        assertThat(inFlight.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      } finally {
        stopSending.set(true);
        clients.shutdownNow();
      }
      assertThat(failures).isEmpty();
      assertThat(statuses).isNotEmpty().allMatch(s -> s == 200);
      assertThat(sidecar.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(sidecar.process().exitValue()).isZero();

      // One JSON access-log line per request on stdout.
      JsonNode line = sidecar.stdout().stream().filter(l -> l.startsWith("{")).map(MetricsProxyMainTest::json)
          .filter(j -> j.path("path").asText().equals("/users/1")).findFirst().orElseThrow();
      assertThat(line.path("route").asText()).isEqualTo("/users/{id}");
      assertThat(line.path("status").asInt()).isEqualTo(200);
      assertThat(line.path("flags").asText()).isEqualTo("-");
      assertThat(line.has("duration_ms") && line.has("upstream_ms") && line.has("bytes_out")).isTrue();
    }
  }

  @Test
  void accessLogFlagsWhyTheProxyAnsweredAndCanBeTurnedOff() throws Exception {
    int closed;
    try (var socket = new java.net.ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    Map<String, String> env = Map.of("ADMIN_PORT", "0", "PROXY_PORT", "0", "BIND_ADDRESS", "127.0.0.1",
        "TARGET_URL", "http://127.0.0.1:" + closed, "DRAIN_DELAY", "0s",
        "OTEL_TRACES_EXPORTER", "none", "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none");
    try (SidecarProcess sidecar = SidecarProcess.start(MetricsProxyMain.class, env)) {
      URI uri = URI.create("http://127.0.0.1:" + sidecar.port("proxy") + "/down");
      assertThat(CLIENT.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding()).statusCode())
          .isEqualTo(502);
      JsonNode line = await().atMost(Duration.ofSeconds(10)).until(() -> sidecar.stdout().stream()
          .filter(l -> l.startsWith("{")).map(MetricsProxyMainTest::json).findFirst().orElse(null), j -> j != null);
      assertThat(line.path("status").asInt()).isEqualTo(502);
      assertThat(line.path("flags").asText()).isEqualTo("UF");
      assertThat(sidecar.stop(Duration.ofSeconds(30))).isZero();
    }
    Map<String, String> off = new java.util.HashMap<>(env);
    off.put("ACCESS_LOG", "off");
    try (SidecarProcess sidecar = SidecarProcess.start(MetricsProxyMain.class, off)) {
      URI uri = URI.create("http://127.0.0.1:" + sidecar.port("proxy") + "/down");
      CLIENT.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding());
      assertThat(sidecar.stop(Duration.ofSeconds(30))).isZero();
      assertThat(sidecar.stdout()).noneMatch(l -> l.startsWith("{"));
    }
  }

  @Test
  void refusesBadVariablesWithExitTwoNamingEach() {
    SidecarProcess.Result result = SidecarProcess.run(MetricsProxyMain.class, Map.of(
        "ADMIN_PORT", "admin", "TARGET_URL", "ftp://app", "UPSTREAM_TIMEOUT", "soon", "ROUTES", "users/{id"),
        Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).contains("metrics-proxy: ADMIN_PORT=\"admin\": expected a port number 0-65535 (0 picks a free port)");
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("metrics-proxy: TARGET_URL=\"ftp://app\": expected"));
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("metrics-proxy: UPSTREAM_TIMEOUT=\"soon\": expected"));
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("metrics-proxy: ROUTES=\"users/{id\": expected"));
  }

  private static JsonNode json(String line) {
    try {
      return JSON.readTree(line);
    } catch (Exception e) {
      throw new IllegalStateException(line, e);
    }
  }
}
