package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Chunked request bodies the proxy refuses while streaming them to the app: above {@code MAX_REQUEST_BYTES}
 * (413 with {@code Connection: close}, counted and flagged like the proxy's other refusals) or with malformed
 * chunking (400, likewise). Either way the app's connection is cut so it never takes the partial body for a
 * complete one.
 */
class ChunkedRequestBodyTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension();

  private static final String SERVICE = "uploads";
  private static final int LIMIT = 64 * 1024;
  private static final String COUNT = "http_server_request_duration_seconds_count";

  private TestBackend backend;
  private ProxyUnderTest proxy;
  private final ByteArrayOutputStream accessLog = new ByteArrayOutputStream();

  @BeforeEach
  void start() {
    backend = new TestBackend();
    Map<String, String> env = new HashMap<>(collector.otelEnvironment());
    env.put("OTEL_SERVICE_NAME", SERVICE);
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    env.put("TARGET_URL", backend.url());
    env.put("MAX_REQUEST_BYTES", Integer.toString(LIMIT));
    env.put("ACCESS_LOG", "on");
    proxy = ProxyUnderTest.start(new PrintStream(accessLog, true, StandardCharsets.UTF_8), env);
  }

  @AfterEach
  void stop() {
    proxy.close();
    backend.close();
  }

  @Test
  void chunkedBodyAboveTheLimitGets413AndTheAppSeesItCut() {
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      // 80 KiB in five chunks: the app has the headers and the first chunks when the limit is passed.
      response = raw.send(chunkedPost("/upload") + chunks(5, 16 * 1024) + "0\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(413);
    assertThat(response.toLowerCase(Locale.ROOT)).contains("connection: close");
    await().atMost(Duration.ofSeconds(20)).until(() -> backend.aborted.contains("/upload"));
    assertThat(backend.seen).noneMatch(s -> s.uri().equals("/upload"));

    assertRefusalRecorded(413, "RTL");
  }

  @Test
  void chunkedBodyOfExactlyTheLimitPassesWhole() {
    HttpResponse<byte[]> response = proxy.send(HttpRequest.newBuilder(proxy.uri("/upload"))
            .POST(HttpRequest.BodyPublishers.ofInputStream(
                () -> new PassThroughTest.RepeatingStream(new byte[16 * 1024], LIMIT / (16 * 1024))))
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).hasSize(LIMIT);
    assertThat(backend.seen.getLast().header("transfer-encoding")).isEqualTo("chunked");
    assertThat(backend.seen.getLast().body()).hasSize(LIMIT);
  }

  /**
   * Malformed chunking is refused 400 with {@code Connection: close}, counted and flagged like the proxy's
   * other refusals, and the app's connection is cut, so it never takes the part it got for a complete body.
   */
  @Test
  void malformedChunkingGets400AndTheAppSeesItCut() {
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      // A good 32 KiB chunk (so the app has started reading), then a line that is no chunk size.
      response = raw.send(chunkedPost("/bad-chunk") + chunks(1, 32 * 1024) + "xyz\r\nhello\r\n0\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(400);
    assertThat(response.toLowerCase(Locale.ROOT)).contains("connection: close");
    await().atMost(Duration.ofSeconds(20)).until(() -> backend.aborted.contains("/bad-chunk"));
    assertThat(backend.seen).noneMatch(s -> s.uri().equals("/bad-chunk"));

    assertRefusalRecorded(400, "BR");
  }

  /** A size line without hex digits is malformed chunking too: 400, never read as the last chunk. */
  @Test
  void aSizeLineWithoutHexDigitsGets400() {
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      response = raw.send(chunkedPost("/lenient") + "zz\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(400);
    assertThat(backend.seen).noneMatch(s -> s.uri().equals("/lenient"));
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
  }

  /**
   * A chunk carrying more bytes than its size line says: the decoder must not skip the excess to the next
   * line (the app would take a cut body for a whole one, and the excess could hide a smuggled request).
   * 400, connection closed, and the app never sees the request complete.
   */
  @Test
  void aChunkLongerThanItsSizeGets400AndTheAppSeesItCut() {
    String response;
    try (RawHttp raw = new RawHttp(proxy.port())) {
      // A good 32 KiB chunk (so the app has started reading), then 5 declared and 10 sent.
      response = raw.send(chunkedPost("/overlong") + chunks(1, 32 * 1024) + "5\r\nhelloWORLD\r\n0\r\n\r\n").readToEnd();
    }
    assertThat(RawHttp.status(response)).isEqualTo(400);
    assertThat(response.toLowerCase(Locale.ROOT)).contains("connection: close");
    await().atMost(Duration.ofSeconds(20)).until(() -> backend.aborted.contains("/overlong"));
    assertThat(backend.seen).noneMatch(s -> s.uri().equals("/overlong"));
    assertRefusalRecorded(400, "BR");
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
  }

  /** In the metrics, the span and the access log, as the proxy's refusal of a {@code Content-Length} body is. */
  private void assertRefusalRecorded(int status, String flag) {
    String code = Integer.toString(status);
    String metrics = await().atMost(Duration.ofSeconds(20)).until(() -> proxy.admin("/metrics", null).body(),
        t -> PrometheusText.value(t, COUNT, "http_response_status_code", code).orElse(0) == 1);
    assertThat(PrometheusText.value(metrics, COUNT)).hasValue(1);
    assertThat(PrometheusText.value(metrics, COUNT, "http_request_method", "POST", "http_route", "_OTHER")).hasValue(1);

    Span span = collector.awaitSpans(SERVICE, 1).get(0).item();
    Map<String, String> attributes = new HashMap<>();
    for (KeyValue kv : span.getAttributesList()) {
      var v = kv.getValue();
      attributes.put(kv.getKey(), v.hasIntValue() ? Long.toString(v.getIntValue()) : v.getStringValue());
    }
    assertThat(attributes).containsEntry("http.response.status_code", code);

    String line = await().atMost(Duration.ofSeconds(20))
        .until(() -> accessLog.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{")).findFirst().orElse(""),
            l -> !l.isEmpty());
    assertThat(line).contains("\"status\":" + code).contains("\"flags\":\"" + flag + "\"");
  }

  private static String chunkedPost(String path) {
    return "POST " + path + " HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n";
  }

  private static String chunks(int count, int size) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < count; i++) {
      out.append(Integer.toHexString(size)).append("\r\n").append("a".repeat(size)).append("\r\n");
    }
    return out.toString();
  }
}
