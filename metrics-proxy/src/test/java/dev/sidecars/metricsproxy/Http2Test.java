package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.testing.SidecarProcess;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Plain HTTP/2 (not gRPC) through metrics-proxy: HTTP/1.1, {@code Upgrade: h2c} and prior-knowledge
 * clients on the one proxy port, and {@code TARGET_PROTOCOL} choosing how requests reach the app.
 */
class Http2Test {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension();

  private static final String SERVICE = "h2-shop";
  private static final HttpClient HTTP2 =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(10)).build();

  private TestBackend backend;
  private ProxyUnderTest proxy;

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  private void start(String... env) {
    start(true, env);
  }

  private void start(boolean appSpeaksH2c, String... env) {
    backend = new TestBackend(0, appSpeaksH2c);
    Map<String, String> base = new HashMap<>(collector.otelEnvironment());
    base.put("OTEL_SERVICE_NAME", SERVICE);
    base.put("OTEL_TRACES_EXPORTER", "otlp");
    base.put("TARGET_URL", backend.url());
    base.put("ROUTES", "/echo");
    proxy = ProxyUnderTest.start(base, env);
  }

  @Test
  void anUpgradingHttp2ClientReachesTheAppOverH2cAndItsSpanSaysHttp2() throws Exception {
    start();
    HttpResponse<String> get = HTTP2.send(HttpRequest.newBuilder(proxy.uri("/echo?header=X-Reply:one")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(get.statusCode()).isEqualTo(200);
    assertThat(get.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(get.headers().firstValue("x-reply")).hasValue("one");
    assertThat(backend.seen.getLast().protocol()).isEqualTo("HTTP/2.0");

    byte[] body = new byte[300 * 1024];
    new Random(11).nextBytes(body);
    HttpResponse<byte[]> post = HTTP2.send(HttpRequest.newBuilder(proxy.uri("/echo"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(post.statusCode()).isEqualTo(200);
    assertThat(post.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(post.body()).isEqualTo(body);
    assertThat(backend.seen.getLast().body()).isEqualTo(body);
    assertThat(backend.seen.getLast().protocol()).isEqualTo("HTTP/2.0");
    assertThat(backend.seen.getLast().headers()).doesNotContainKeys("x-http2-stream-id", "x-http2-scheme", "upgrade",
        "http2-settings");

    Span span = collector.awaitSpans(SERVICE, 2).get(1).item();
    assertThat(TelemetryTest.attributes(span)).containsEntry("network.protocol.version", "2")
        .containsEntry("http.route", "/echo").containsEntry("http.response.status_code", "200");
  }

  @Test
  void priorKnowledgeAndHttp11ClientsShareTheProxyPort() throws Exception {
    start();
    try (H2cClient h2 = new H2cClient(proxy.port())) {
      FullHttpRequest post = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/echo?header=X-Reply:h2",
          Unpooled.copiedBuffer("over h2c", StandardCharsets.UTF_8));
      post.headers().set(HttpHeaderNames.HOST, "app").setInt(HttpHeaderNames.CONTENT_LENGTH, 8);
      FullHttpResponse answer = h2.send(post);
      try {
        assertThat(answer.status().code()).isEqualTo(200);
        assertThat(answer.headers().get("x-reply")).isEqualTo("h2");
        assertThat(answer.content().toString(StandardCharsets.UTF_8)).isEqualTo("over h2c");
      } finally {
        answer.release();
      }
      assertThat(backend.seen.getLast().protocol()).isEqualTo("HTTP/2.0");

      HttpResponse<String> http11 = proxy.get("/echo?via=http11");
      assertThat(http11.statusCode()).isEqualTo(200);
      assertThat(http11.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
      assertThat(backend.seen.getLast().protocol()).isEqualTo("HTTP/1.1");
    }
  }

  /**
   * With {@code auto}, an HTTP/2 client (the JDK's client upgrades by default) still reaches an app that
   * speaks HTTP/1.1 only: the app refuses the h2c preface, and the request, not sent yet, goes as HTTP/1.1.
   */
  @Test
  void anHttp2ClientReachesAnHttp11OnlyAppWithAuto() throws Exception {
    start(false);
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> response = HTTP2.send(HttpRequest.newBuilder(proxy.uri("/echo"))
          .POST(HttpRequest.BodyPublishers.ofString("body " + i)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("body " + i);
      assertThat(backend.seen.getLast().protocol()).isEqualTo("HTTP/1.1");
    }
  }

  @Test
  void targetProtocolH2cSendsHttp11RequestsAsHttp2() {
    start("TARGET_PROTOCOL", "h2c");
    HttpResponse<String> response = proxy.send(HttpRequest.newBuilder(proxy.uri("/echo"))
        .POST(HttpRequest.BodyPublishers.ofString("translated")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(response.body()).isEqualTo("translated");
    assertThat(backend.seen.getLast().protocol()).isEqualTo("HTTP/2.0");
  }

  @Test
  void targetProtocolHttp1SendsHttp2RequestsAsHttp11() throws Exception {
    start("TARGET_PROTOCOL", "http1");
    try (H2cClient h2 = new H2cClient(proxy.port())) {
      FullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/echo?status=201");
      get.headers().set(HttpHeaderNames.HOST, "app");
      FullHttpResponse answer = h2.send(get);
      try {
        assertThat(answer.status().code()).isEqualTo(201);
      } finally {
        answer.release();
      }
    }
    assertThat(backend.seen.getLast().protocol()).isEqualTo("HTTP/1.1");
    assertThat(backend.seen.getLast().header("host")).isEqualTo("app");
  }

  @Test
  void targetProtocolIsValidatedAtStart() {
    var result = SidecarProcess.run(MetricsProxyMain.class,
        Map.of("TARGET_PROTOCOL", "h3", "ADMIN_PORT", "0", "PROXY_PORT", "0"), Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).contains("metrics-proxy: TARGET_PROTOCOL=\"h3\": expected auto, http1 or h2c");
  }
}
