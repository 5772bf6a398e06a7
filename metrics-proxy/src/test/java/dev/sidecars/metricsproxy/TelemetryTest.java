package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Spans in the real collector-stub, values on {@code /metrics}, and the same measurements over OTLP. */
class TelemetryTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension();

  private static final String SERVICE = "shop";
  private TestBackend backend;
  private ProxyUnderTest proxy;

  @BeforeEach
  void start() {
    backend = new TestBackend();
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    backend.close();
  }

  private ProxyUnderTest proxy(String... extra) {
    Map<String, String> env = new HashMap<>(collector.otelEnvironment());
    env.put("OTEL_SERVICE_NAME", SERVICE);
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    env.put("OTEL_METRICS_EXPORTER", "otlp");
    env.put("TARGET_URL", backend.url());
    env.put("ROUTES", "/users/{id},/orders/{id}/items");
    proxy = ProxyUnderTest.start(env, extra);
    return proxy;
  }

  @Test
  void serverSpanContinuesTheIncomingTraceAndTheAppContinuesIt() {
    proxy();
    String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    String parentId = "00f067aa0ba902b7";
    HttpResponse<String> response = proxy.send(HttpRequest.newBuilder(proxy.uri("/users/42?q=1"))
        .header("traceparent", "00-" + traceId + "-" + parentId + "-01")
        .header("tracestate", "vendor=abc")
        .header("tracestate", "other=xyz") // a second line of the same list: both must reach the app
        .header("User-Agent", "telemetry-test").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);

    Span span = collector.awaitTrace(traceId, 1).get(0).item();
    String spanId = HexFormat.of().formatHex(span.getSpanId().toByteArray());
    assertThat(HexFormat.of().formatHex(span.getParentSpanId().toByteArray())).isEqualTo(parentId);
    assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
    assertThat(span.getName()).isEqualTo("GET /users/{id}");
    Map<String, String> attributes = attributes(span);
    assertThat(attributes).containsEntry("http.request.method", "GET")
        .containsEntry("url.path", "/users/42")
        .containsEntry("url.scheme", "http")
        .containsEntry("http.route", "/users/{id}")
        .containsEntry("http.response.status_code", "200")
        .containsEntry("server.address", "127.0.0.1")
        .containsEntry("client.address", "127.0.0.1")
        .containsEntry("user_agent.original", "telemetry-test")
        .containsEntry("network.protocol.version", "1.1")
        .doesNotContainKey("error.type");
    assertThat(span.getStatus().getCode()).isNotEqualTo(Status.StatusCode.STATUS_CODE_ERROR);

    // The app got the proxy's span as its parent, same trace, tracestate kept (both lines, combined).
    TestBackend.Seen seen = backend.seen.getLast();
    assertThat(seen.header("traceparent")).isEqualTo("00-" + traceId + "-" + spanId + "-01");
    assertThat(seen.header("tracestate")).isEqualTo("vendor=abc,other=xyz");
  }

  @Test
  void startsATraceWhenTheIncomingContextIsInvalidAndMarksServerErrors() {
    proxy();
    proxy.send(HttpRequest.newBuilder(proxy.uri("/fail")).header("traceparent", "00-zzzz-nonsense-01").build(),
        HttpResponse.BodyHandlers.discarding());
    List<Received<Span>> spans = collector.awaitSpans(SERVICE, 1);
    Span span = spans.get(0).item();
    assertThat(span.getParentSpanId().isEmpty()).isTrue();
    assertThat(span.getName()).isEqualTo("GET");
    assertThat(attributes(span)).containsEntry("http.response.status_code", "500").containsEntry("error.type", "500")
        .doesNotContainKey("http.route");
    assertThat(span.getStatus().getCode()).isEqualTo(Status.StatusCode.STATUS_CODE_ERROR);
    assertThat(backend.seen.getLast().header("traceparent")).contains(HexFormat.of().formatHex(span.getTraceId().toByteArray()));
  }

  @Test
  void metricsCountKnownTrafficByMethodStatusAndRoute() {
    proxy();
    for (int i = 0; i < 3; i++) {
      proxy.get("/users/" + i);
    }
    for (int i = 0; i < 2; i++) {
      proxy.send(HttpRequest.newBuilder(proxy.uri("/orders/" + i + "/items?status=201"))
          .POST(HttpRequest.BodyPublishers.ofString("0123456789")).build(), HttpResponse.BodyHandlers.discarding());
    }
    proxy.get("/not/a/route");
    proxy.send(HttpRequest.newBuilder(proxy.uri("/users/9")).method("FROB", HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.discarding());

    String name = "http_server_request_duration_seconds_count";
    // An exchange is recorded when it completes, which may be just after the client has its answer.
    String text = await().atMost(Duration.ofSeconds(20)).until(() -> proxy.admin("/metrics", null).body(),
        t -> PrometheusText.value(t, name).orElse(0) == 7 && PrometheusText.value(t, "http_server_active_requests").orElse(-1) == 0);
    assertThat(PrometheusText.value(text, name, "http_request_method", "GET", "http_response_status_code", "200",
        "http_route", "/users/{id}")).hasValue(3);
    assertThat(PrometheusText.value(text, name, "http_request_method", "POST", "http_response_status_code", "201",
        "http_route", "/orders/{id}/items")).hasValue(2);
    assertThat(PrometheusText.value(text, name, "http_route", "_OTHER", "http_request_method", "GET")).hasValue(1);
    assertThat(PrometheusText.value(text, name, "http_request_method", "_OTHER", "http_route", "/users/{id}")).hasValue(1);
    assertThat(PrometheusText.value(text, "http_server_request_duration_seconds_bucket", "http_route", "/users/{id}",
        "http_request_method", "GET", "le", "10.0")).hasValue(3);
    assertThat(PrometheusText.value(text, "http_server_request_body_size_bytes_sum", "http_request_method", "POST")).hasValue(20);
    assertThat(PrometheusText.value(text, "http_server_response_body_size_bytes_sum", "http_request_method", "POST")).hasValue(20);
    assertThat(PrometheusText.value(text, "http_server_active_requests")).hasValue(0);
    assertThat(text).doesNotContain("/not/a/route").doesNotContain("FROB");

    String openMetrics = proxy.admin("/metrics", "application/openmetrics-text; version=1.0.0").body();
    assertThat(openMetrics.lines().filter(l -> l.startsWith("http_server_request_duration_seconds_bucket"))
        .anyMatch(l -> l.contains("# {span_id=\"") || l.contains("trace_id=\""))).isTrue();

    // The same measurements over OTLP, from the same meters.
    collector.awaitMetric(SERVICE, "http.server.request.duration");
  }

  @Test
  void boundsSeriesUnderManyDistinctPathsAndFoldsTheRestIntoOneOverflowSeries() throws Exception {
    proxy("METRIC_SERIES_LIMIT", "4", "OTEL_METRICS_EXPORTER", "none", "OTEL_TRACES_EXPORTER", "none");
    // 100,000 distinct raw paths, none matching ROUTES, over 8 keep-alive connections with pipelined
    // requests (a client library's per-request overhead would make this minutes rather than seconds).
    int paths = 100_000;
    int connections = 8;
    ExecutorService clients = Executors.newFixedThreadPool(connections);
    Map<Integer, Integer> statuses = new HashMap<>();
    try {
      List<Future<Map<Integer, Integer>>> sent = IntStream.range(0, connections)
          .mapToObj(c -> clients.submit(() -> getPipelined(proxy.port(), c * paths / connections, (c + 1) * paths / connections,
              i -> "/random/" + i + "/x" + (i % 7 == 0 ? "?status=404" : ""))))
          .collect(Collectors.toList());
      for (Future<Map<Integer, Integer>> f : sent) {
        f.get(120, TimeUnit.SECONDS).forEach((status, n) -> statuses.merge(status, n, Integer::sum));
      }
    } finally {
      clients.shutdownNow();
    }
    assertThat(statuses).containsOnlyKeys(200, 404);
    assertThat(statuses.get(404)).isEqualTo((paths + 6) / 7);
    // More label combinations than the limit: status codes 200..205 on a route.
    for (int status = 200; status <= 205; status++) {
      proxy.get("/users/1?status=" + status);
    }
    String name = "http_server_request_duration_seconds_count";
    String text = await().atMost(Duration.ofSeconds(20)).until(() -> proxy.admin("/metrics", null).body(),
        t -> PrometheusText.value(t, name).orElse(0) == paths + 6);
    assertThat(PrometheusText.count(text, name)).isLessThanOrEqualTo(5); // 4 series + the overflow series
    // Every request is counted once: the paths under the one fallback route, the rest in the overflow series.
    assertThat(PrometheusText.value(text, name)).hasValue(paths + 6);
    assertThat(PrometheusText.value(text, name, "http_route", "_OTHER")).hasValue(paths);
    // Series 3 and 4 are /users/{id} with 200 and 201; 202..205 find the limit reached.
    assertThat(PrometheusText.value(text, name, "http_route", "_OVERFLOW", "http_request_method", "_OVERFLOW",
        "http_response_status_code", "_OVERFLOW")).hasValue(4);
    assertThat(PrometheusText.value(text, "http_server_series_overflow_total")).hasValue(4);
    assertThat(text).doesNotContain("/random/");
    // The whole exposition stays small: bounded series, whatever the number of paths.
    assertThat(text.lines().filter(l -> !l.startsWith("#")).count()).isLessThan(300);
  }

  /**
   * GETs {@code pathOf(from)} to {@code pathOf(to - 1)} on one keep-alive connection, 64 requests written at
   * a time before their answers are read (HTTP/1.1 pipelining), and counts the answers by status.
   */
  private static Map<Integer, Integer> getPipelined(int port, int from, int to, IntFunction<String> pathOf) throws IOException {
    Map<Integer, Integer> statuses = new HashMap<>();
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      socket.setTcpNoDelay(true);
      OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
      InputStream in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
      for (int start = from; start < to; start += 64) {
        int end = Math.min(to, start + 64);
        for (int i = start; i < end; i++) {
          out.write(("GET " + pathOf.apply(i) + " HTTP/1.1\r\nHost: app\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        out.flush();
        for (int i = start; i < end; i++) {
          statuses.merge(readResponse(in), 1, Integer::sum);
        }
      }
    }
    return statuses;
  }

  /** Reads one response with a Content-Length body (what the test app sends) and returns its status. */
  private static int readResponse(InputStream in) throws IOException {
    String statusLine = readLine(in);
    int status = Integer.parseInt(statusLine.substring(9, 12));
    long length = 0;
    for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
      if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
        length = Long.parseLong(line.substring(15).trim());
      }
    }
    in.skipNBytes(length);
    return status;
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); b != '\n'; b = in.read()) {
      if (b < 0) {
        throw new EOFException("connection closed after " + line);
      }
      if (b != '\r') {
        line.append((char) b);
      }
    }
    return line.toString();
  }

  /** A span's attributes as text, numbers in decimal. */
  static Map<String, String> attributes(Span span) {
    Map<String, String> out = new HashMap<>();
    for (KeyValue kv : span.getAttributesList()) {
      var v = kv.getValue();
      out.put(kv.getKey(), v.hasIntValue() ? Long.toString(v.getIntValue()) : v.getStringValue());
    }
    return out;
  }
}
