package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What an attacker or a broken peer tried on metrics-proxy (issue 16), black-box over real sockets against
 * the proxy started as in production: misbehaving clients on raw sockets, broken apps answering by hand.
 * Each test checks the status the client got, the access-log flag, the request counter, and that the next
 * request is unharmed.
 */
class HardeningTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String COUNT = "http_server_request_duration_seconds_count";

  private final ByteArrayOutputStream accessLog = new ByteArrayOutputStream();
  private TestBackend backend;
  private RawBackend rawBackend;
  private ProxyUnderTest proxy;

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (backend != null) {
      backend.close();
    }
    if (rawBackend != null) {
      rawBackend.close();
    }
  }

  /** One IO thread, so consecutive requests share one pooled app connection, as a poisoned one would be. */
  private void start(String target, String... env) {
    Map<String, String> base = new HashMap<>();
    base.put("TARGET_URL", target);
    base.put("ACCESS_LOG", "on");
    base.put("PROXY_IO_THREADS", "1");
    base.put("UPSTREAM_TIMEOUT", "10s");
    proxy = ProxyUnderTest.start(new PrintStream(accessLog, true, StandardCharsets.UTF_8), base, env);
  }

  @Test
  void aClientThatAbortsAChunkedUploadLeavesNoHalfWrittenConnectionInThePool() {
    backend = new TestBackend();
    start(backend.url());
    // Warm the pool: the next request would be given this connection.
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
    try (RawHttp raw = new RawHttp(proxy.port())) {
      raw.send("POST /upload HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n" + "400\r\n" + "a".repeat(1024) + "\r\n");
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.admin("/metrics", null).body().contains("http_server_active_requests 1"));
    } // gone mid-body

    // The app sees its body end early, never a complete one (no terminating chunk).
    await().atMost(Duration.ofSeconds(10)).until(() -> backend.aborted.contains("/upload"));
    assertThat(backend.seen).noneMatch(s -> s.uri().equals("/upload"));
    JsonNode line = accessLogLine("/upload");
    assertThat(line.path("flags").asText()).isEqualTo("DC");
    assertThat(line.path("status").asInt()).isEqualTo(499);
    assertThat(metric("http_response_status_code", "499")).isEqualTo(1);

    // Next request: answered at once on a sound connection, not after UPSTREAM_TIMEOUT.
    long start = System.nanoTime();
    HttpResponse<String> next = proxy.get("/echo?after=abort");
    assertThat(next.statusCode()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    assertThat(accessLogLine("/echo").path("flags").asText()).isEqualTo("-");
  }

  @Test
  void aStalledRequestBodyGets408AndTheAppSeesItCut() {
    backend = new TestBackend();
    start(backend.url(), "REQUEST_BODY_TIMEOUT", "1s");
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("POST /slow-upload HTTP/1.1\r\nHost: app\r\nContent-Length: 1000\r\n\r\n" + "a".repeat(100)).readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(408);
    assertThat(response.toLowerCase(Locale.ROOT)).contains("connection: close");
    await().atMost(Duration.ofSeconds(10)).until(() -> backend.aborted.contains("/slow-upload"));
    JsonNode line = accessLogLine("/slow-upload");
    assertThat(line.path("flags").asText()).isEqualTo("DT");
    assertThat(metric("http_response_status_code", "408")).isEqualTo(1);
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
  }

  /** A body that arrives slowly but steadily is not cut: the timeout is per wait, not per body. */
  @Test
  void aSlowButSteadyBodyIsNotTimedOut() throws Exception {
    backend = new TestBackend();
    start(backend.url(), "REQUEST_BODY_TIMEOUT", "1s");
    try (RawHttp raw = new RawHttp(proxy.port())) {
      raw.send("POST /steady HTTP/1.1\r\nHost: app\r\nContent-Length: 4\r\n\r\n");
      for (int i = 0; i < 4; i++) {
        // Under the timeout between bytes, over it in all.
        await().pollDelay(Duration.ofMillis(500)).until(() -> true);
        raw.send("a");
      }
      assertThat(RawHttp.status(raw.readUntil("aaaa"))).isEqualTo(200);
    }
  }

  @Test
  void conflictingContentLengthsFromTheAppGet502AndNoConnectionIsReused() {
    rawBackend = new RawBackend()
        .answer("/conflict", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello", false);
    start(rawBackend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("GET /conflict HTTP/1.1\r\nHost: app\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(502);
    assertThat(response.toLowerCase(Locale.ROOT)).contains("connection: close").doesNotContain("content-length: 7");
    assertThat(accessLogLine("/conflict").path("flags").asText()).isEqualTo("UPE");
    assertThat(metric("http_response_status_code", "502")).isEqualTo(1);
    HttpResponse<String> next = proxy.get("/fine");
    assertThat(next.statusCode()).isEqualTo(200);
    assertThat(next.body()).isEqualTo("ok");
  }

  @Test
  void aMalformedChunkedResponseIsFlaggedWithTheStatusTheClientSaw() {
    rawBackend = new RawBackend()
        .answer("/bad-chunks", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\nxx\r\n", false);
    start(rawBackend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("GET /bad-chunks HTTP/1.1\r\nHost: app\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(200);
    assertThat(response).doesNotContain("\r\n0\r\n\r\n"); // the client sees the body cut too
    JsonNode line = accessLogLine("/bad-chunks");
    assertThat(line.path("status").asInt()).isEqualTo(200);
    assertThat(line.path("flags").asText()).isEqualTo("UC");
    assertThat(metric("http_response_status_code", "200")).isEqualTo(1);
    assertThat(proxy.get("/fine").statusCode()).isEqualTo(200);
  }

  @Test
  void anAppResetMidResponseIsFlaggedWithTheStatusTheClientSaw() {
    rawBackend = new RawBackend()
        .answer("/reset", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello", true);
    start(rawBackend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("GET /reset HTTP/1.1\r\nHost: app\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(200);
    JsonNode line = accessLogLine("/reset");
    assertThat(line.path("status").asInt()).isEqualTo(200);
    assertThat(line.path("flags").asText()).isEqualTo("UC");
    assertThat(proxy.get("/fine").statusCode()).isEqualTo(200);
  }

  /** The client leaving mid-response is not the app's failure: no flag that would count against its breaker. */
  @Test
  void aClientLeavingMidResponseIsNotAnUpstreamFailure() {
    backend = new TestBackend();
    start(backend.url(), "BREAKER_FAILURES", "1");
    try (RawHttp raw = new RawHttp(proxy.port())) {
      raw.send("GET /stream?chunks=400&size=65536 HTTP/1.1\r\nHost: app\r\n\r\n").readUntil("aaaa");
    }
    JsonNode line = accessLogLine("/stream");
    assertThat(line.path("flags").asText()).isNotEqualTo("UC");
    // With a breaker that opens on one failure, the next request still reaches the app.
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/search?x=|", "/search?json={\"a\":1}", "/search?tag=<b>&x=^`", "/a|b/{c}?q=100%25"})
  void queryCharactersRealClientsSendUnencodedPassThroughUnchanged(String pathAndQuery) {
    backend = new TestBackend();
    start(backend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("GET " + pathAndQuery + " HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(200);
    TestBackend.Seen seen = backend.seen.getLast();
    assertThat(seen.uri() + "?" + seen.query()).isEqualTo(pathAndQuery);
  }

  /**
   * A {@code %} not followed by two hex digits is no valid URI (RFC 3986 section 2.1), but real clients send
   * it: it passes to the app unchanged, which decides (an app that refuses it answers its own 400).
   */
  @Test
  void aLonePercentSignPassesThroughUnchanged() {
    rawBackend = new RawBackend()
        .answer("/search?q=100%", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nunchanged", false);
    start(rawBackend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("GET /search?q=100% HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(200);
    assertThat(response).endsWith("unchanged");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/search?q=a\u0000b", "/search?q=a\u0001b", "/search?q=a\rb", "/search\u007f?q=1"})
  void controlCharactersInTheRequestLineAreStillRefused(String pathAndQuery) {
    backend = new TestBackend();
    start(backend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("GET " + pathAndQuery + " HTTP/1.1\r\nHost: app\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(400);
    assertThat(backend.seen).isEmpty();
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
  }

  @ParameterizedTest
  @ValueSource(strings = {"xchunked", "chunked, identity", "identity, chunked", "gzip, chunked", "chunked;x=1"})
  void obfuscatedTransferEncodingsGet400AndNeverReachTheApp(String transferEncoding) {
    backend = new TestBackend();
    start(backend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("POST /te HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: " + transferEncoding
          + "\r\n\r\n3\r\nabc\r\n0\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(400);
    assertThat(response.toLowerCase(Locale.ROOT)).contains("connection: close");
    assertThat(backend.seen).isEmpty();
    assertThat(accessLogLine("/te").path("flags").asText()).isEqualTo("BR");
    assertThat(metric("http_response_status_code", "400")).isEqualTo(1);
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
  }

  @Test
  void aRepeatedTransferEncodingGets400() {
    backend = new TestBackend();
    start(backend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("POST /te HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
          + "\r\n\r\n3\r\nabc\r\n0\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(400);
    assertThat(backend.seen).isEmpty();
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
  }

  @Test
  void chunkedInAnyCaseIsStillChunked() {
    backend = new TestBackend();
    start(backend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("POST /echo HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
          .readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(200);
    assertThat(response).endsWith("abc");
  }

  /**
   * A chunk longer than its declared size (issue 16): refused 400 with the connection closed, and the app's
   * connection is cut, so it never takes the declared part for the whole body.
   */
  @Test
  void aChunkLongerThanItsDeclaredSizeGets400AndTheAppSeesItCut() {
    backend = new TestBackend();
    start(backend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      // A good 16 KiB chunk first, so the app is reading the body when the long one comes.
      response = raw.send("POST /long-chunk HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "4000\r\n" + "a".repeat(16 * 1024) + "\r\n" + "3\r\nabcdef\r\n0\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(400);
    assertThat(response.toLowerCase(Locale.ROOT)).contains("connection: close");
    await().atMost(Duration.ofSeconds(10)).until(() -> backend.aborted.contains("/long-chunk"));
    assertThat(backend.seen).noneMatch(s -> s.uri().equals("/long-chunk"));
    assertThat(accessLogLine("/long-chunk").path("flags").asText()).isEqualTo("BR");
    assertThat(metric("http_response_status_code", "400")).isEqualTo(1);
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
  }

  @Test
  void aGetWithABodyGets400() {
    backend = new TestBackend();
    start(backend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      // A server that does not read a GET's body would parse its bytes as the next request.
      response = raw.send("GET /get-body HTTP/1.1\r\nHost: app\r\nContent-Length: 44\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(400);
    assertThat(backend.seen).isEmpty();
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
  }

  @Test
  void anHttp10RequestWithoutHostReachesTheAppWithTheTargetsHost() {
    backend = new TestBackend();
    start(backend.url());
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send("GET /old-client HTTP/1.0\r\n\r\n").readToEnd();
    }
    assertThat(response).startsWith("HTTP/1.0 200");
    assertThat(backend.seen.getLast().header("host")).isEqualTo("127.0.0.1:" + backend.port());
  }

  /**
   * A {@code TARGET_URL} host that does not resolve (a reserved {@code .invalid} name, looked up by the
   * system's resolver off the event loop): 502 flagged {@code DF} and counted, not a refused connection.
   */
  @Test
  void aTargetNameThatDoesNotResolveGets502FlaggedDnsFailure() {
    start("http://missing.invalid:8080", "BREAKER_FAILURES", "2");
    HttpResponse<String> response = proxy.get("/where");
    assertThat(response.statusCode()).isEqualTo(502);
    assertThat(response.body()).contains("missing.invalid");
    assertThat(accessLogLine("/where").path("flags").asText()).isEqualTo("DF");
    assertThat(await().atMost(Duration.ofSeconds(10)).until(() -> PrometheusText.value(
        proxy.admin("/metrics", null).body(), "dns_failures_total").orElse(0), n -> n > 0)).isGreaterThanOrEqualTo(1.0);
    // The application cannot be reached, as if it refused: two in a row open the breaker.
    assertThat(proxy.get("/again").statusCode()).isEqualTo(502);
    assertThat(proxy.get("/then").statusCode()).isEqualTo(503);
    assertThat(accessLogLine("/then").path("flags").asText()).isEqualTo("UO");
  }

  /** A target named by a host name is looked up by the proxy's resolver and reached. */
  @Test
  void aTargetNamedByAHostNameIsReached() {
    backend = new TestBackend();
    start("http://localhost:" + backend.port());
    assertThat(proxy.get("/fine").statusCode()).isEqualTo(200);
  }

  @Test
  void requestBodyTimeoutIsValidatedAtStart() {
    var result = dev.sidecars.testing.SidecarProcess.run(MetricsProxyMain.class,
        Map.of("REQUEST_BODY_TIMEOUT", "soon", "ADMIN_PORT", "0", "PROXY_PORT", "0"), Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("metrics-proxy: REQUEST_BODY_TIMEOUT=\"soon\": expected"));
  }

  private long metric(String... labels) {
    return await().atMost(Duration.ofSeconds(10)).until(
        () -> (long) PrometheusText.value(proxy.admin("/metrics", null).body(), COUNT, labels).orElse(0), n -> n > 0);
  }

  /** The access-log line of the first request to {@code path}, waiting for the writer's next flush. */
  private JsonNode accessLogLine(String path) {
    return await().atMost(Duration.ofSeconds(10)).until(() -> lines().stream()
        .filter(j -> j.path("path").asText().equals(path)).findFirst().orElse(null), j -> j != null);
  }

  private List<JsonNode> lines() {
    return accessLog.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{")).map(l -> {
      try {
        return JSON.readTree(l);
      } catch (Exception e) {
        throw new IllegalStateException(l, e);
      }
    }).toList();
  }
}
