package dev.sidecars.runtime.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.runtime.testing.AdminClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Proves the admin endpoints of the contract on a real server: {@code /healthz} is 200 JSON, {@code
 * /readyz} follows the {@link Readiness} (503 with a JSON reason), {@code /metrics} serves Prometheus
 * text 0.0.4 by default and OpenMetrics when asked, {@code POST /shutdown} from loopback is accepted and
 * runs the callback, wrong methods get 405 with {@code Allow}, and unknown paths 404.
 */
class AdminServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final AtomicReference<Optional<String>> notReady = new AtomicReference<>(Optional.empty());
  private final AtomicBoolean shutdownRequested = new AtomicBoolean();
  private PrometheusMeterRegistry registry;
  private AdminServer server;
  private AdminClient client;

  @BeforeEach
  void start() {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.counter("admin.test.requests", "route", "/checkout").increment(3);
    server =
        AdminServer.start(
            "127.0.0.1", 0, registry, notReady::get, () -> shutdownRequested.set(true));
    client = new AdminClient(server.port());
  }

  @AfterEach
  void stop() {
    server.close();
    registry.close();
  }

  @Test
  void portZeroPicksARealFreePort() {
    assertThat(server.port()).isPositive();
  }

  @Test
  void healthzIs200Json() throws Exception {
    HttpResponse<String> response = client.get("/healthz");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(JSON.readTree(response.body()).path("status").asText()).isEqualTo("ok");
  }

  @Test
  void readyzIs200WhenReady() throws Exception {
    HttpResponse<String> response = client.get("/readyz");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(response.body()).path("status").asText()).isEqualTo("ready");
  }

  @Test
  void readyzIs503WithAJsonReasonWhenNotReadyAndRecovers() throws Exception {
    notReady.set(Optional.of("target \"app:8080\" refuses connections"));

    HttpResponse<String> response = client.get("/readyz");

    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.path("reason").asText()).isEqualTo("target \"app:8080\" refuses connections");
    assertThat(body.path("status").asText()).isEqualTo("not ready");

    // Asked on every request, not cached at start.
    notReady.set(Optional.empty());
    assertThat(client.get("/readyz").statusCode()).isEqualTo(200);
  }

  @Test
  void metricsIsPrometheusText004ByDefault() {
    HttpResponse<String> response = client.get("/metrics");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain; version=0.0.4"));
    assertThat(response.body())
        .contains("# TYPE admin_test_requests_total counter")
        .contains("admin_test_requests_total{route=\"/checkout\"} 3.0")
        .doesNotContain("# EOF");
  }

  @Test
  void metricsIsOpenMetricsWhenTheScraperAsksForIt() {
    HttpResponse<String> response =
        client.get("/metrics", "Accept", "application/openmetrics-text; version=1.0.0");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("application/openmetrics-text"));
    assertThat(response.body())
        .contains("# TYPE admin_test_requests counter")
        .contains("admin_test_requests_total{route=\"/checkout\"} 3.0")
        .endsWith("# EOF\n");
  }

  @Test
  void postShutdownFromLoopbackIsAcceptedAndRunsTheCallback() throws Exception {
    // Only the loopback side of the rule can be exercised: every address this test can connect from is
    // on this machine, so the 403 for other sources is left to a deployment test.
    HttpResponse<String> response = client.post("/shutdown");

    assertThat(response.statusCode()).isEqualTo(202);
    assertThat(JSON.readTree(response.body()).path("status").asText()).isEqualTo("shutting down");
    await().atMost(Duration.ofSeconds(5)).untilTrue(shutdownRequested);
  }

  @Test
  void getShutdownIs405WithAllowAndDoesNotShutDown() {
    HttpResponse<String> response = client.get("/shutdown");

    assertThat(response.statusCode()).isEqualTo(405);
    assertThat(response.headers().firstValue("Allow")).hasValue("POST");
    assertThat(shutdownRequested).isFalse();
  }

  @Test
  void postToAReadOnlyEndpointIs405AllowingGetAndHead() {
    HttpResponse<String> response = client.post("/healthz");

    assertThat(response.statusCode()).isEqualTo(405);
    assertThat(response.headers().firstValue("Allow")).hasValue("GET, HEAD");
  }

  @Test
  void unknownPathIs404() {
    assertThat(client.get("/nope").statusCode()).isEqualTo(404);
    assertThat(client.get("/metrics/extra").statusCode()).isEqualTo(404);
  }

  @Test
  void rootListsEveryEndpointAsTextAndAsJsonAndEachListedOneAnswers() throws Exception {
    HttpResponse<String> text = client.get("/");

    assertThat(text.statusCode()).isEqualTo(200);
    assertThat(text.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
    assertThat(text.body()).startsWith("admin: admin endpoints\n")
        .contains("GET  /metrics ", "GET  /healthz ", "GET  /readyz ", "POST /shutdown ");

    HttpResponse<String> json = client.get("/", "Accept", "application/json");
    JsonNode index = JSON.readTree(json.body());
    assertThat(index.path("endpoints")).hasSize(5);
    for (JsonNode endpoint : index.path("endpoints")) {
      assertThat(text.body()).contains(endpoint.path("path").asText() + " ").contains(endpoint.path("answer").asText());
      if (endpoint.path("method").asText().equals("GET")) {
        assertThat(client.get(endpoint.path("path").asText()).statusCode())
            .as("GET %s", endpoint.path("path").asText()).isEqualTo(200);
      }
    }
    assertThat(client.get("/nope").body()).contains("GET / lists the endpoints");
  }

  @Test
  void headAnswersAsGetWouldWithoutABody() throws Exception {
    String answer = raw("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

    assertThat(answer).startsWith("HTTP/1.1 200 OK\r\n").contains("content-length: ");
    int length = Integer.parseInt(answer.replaceAll("(?s).*content-length: (\\d+).*", "$1"));
    assertThat(length).as("the length GET's body would have").isPositive();
    assertThat(answer).endsWith("\r\n\r\n");
  }

  @Test
  void aMalformedRequestIs400AndTheConnectionClosesAndAnOversizedOneIs413() throws Exception {
    assertThat(raw("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"))
        .startsWith("HTTP/1.1 400 ");
    assertThat(raw("POST /shutdown HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100000\r\n\r\n"))
        .startsWith("HTTP/1.1 413 ");
    assertThat(shutdownRequested).isFalse();
    assertThat(client.get("/healthz").statusCode()).as("the admin port still serves").isEqualTo(200);
  }

  /** Sends {@code request} as is and reads until the server closes the connection. */
  private String raw(String request) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
    }
  }
}
