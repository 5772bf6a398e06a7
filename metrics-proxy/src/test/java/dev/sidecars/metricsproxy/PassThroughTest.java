package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the app and its clients see through the proxy: the same bytes, minus hop-by-hop headers, plus X-Forwarded-*. */
class PassThroughTest {
  private static TestBackend backend;
  private static ProxyUnderTest proxy;

  @BeforeAll
  static void start() {
    backend = new TestBackend();
    proxy = ProxyUnderTest.start(Map.of("TARGET_URL", backend.url(), "MAX_HEADER_BYTES", "16KiB",
        "MAX_REQUEST_BYTES", "40MiB", "REQUEST_HEADER_TIMEOUT", "1s"));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    backend.close();
  }

  @BeforeEach
  void forget() {
    backend.seen.clear();
  }

  @Test
  void passesMethodsPathsHeadersAndBodiesByteForByte() {
    byte[] body = new byte[256 * 1024];
    new Random(7).nextBytes(body);
    for (String method : List.of("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND")) {
      backend.seen.clear();
      HttpResponse<byte[]> response = proxy.send(
          HttpRequest.newBuilder(proxy.uri("/a/b%20c/d?x=1&y=%2F&y=2&header=X-Reply:one&header=X-Reply:two"))
              .method(method, HttpRequest.BodyPublishers.ofByteArray(body))
              .header("X-Multi", "1").header("X-Multi", "2").header("Cookie", "a=b; c=d")
              .header("User-Agent", "pass-through-test")
              .build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertThat(response.statusCode()).as(method).isEqualTo(200);
      assertThat(response.body()).as(method).isEqualTo(body);
      assertThat(response.headers().allValues("X-Reply")).containsExactly("one", "two");
      TestBackend.Seen seen = backend.seen.getLast();
      assertThat(seen.method()).isEqualTo(method);
      assertThat(seen.uri()).isEqualTo("/a/b%20c/d");
      assertThat(seen.query()).isEqualTo("x=1&y=%2F&y=2&header=X-Reply:one&header=X-Reply:two");
      assertThat(seen.body()).isEqualTo(body);
      assertThat(seen.headers().get("x-multi")).containsExactly("1", "2");
      assertThat(seen.header("cookie")).isEqualTo("a=b; c=d");
      assertThat(seen.header("user-agent")).isEqualTo("pass-through-test");
      assertThat(seen.header("host")).isEqualTo("127.0.0.1:" + proxy.port());
      assertThat(seen.header("x-forwarded-for")).isEqualTo("127.0.0.1");
      assertThat(seen.header("x-forwarded-proto")).isEqualTo("http");
      assertThat(seen.header("x-forwarded-host")).isEqualTo("127.0.0.1");
    }
  }

  @Test
  void passesStatusCodesIncludingThoseWithoutABody() {
    for (int status : List.of(201, 204, 301, 304, 404, 418, 503)) {
      HttpResponse<String> response = proxy.get("/echo?status=" + status + "&header=X-Status:" + status);
      assertThat(response.statusCode()).isEqualTo(status);
      assertThat(response.headers().firstValue("X-Status")).hasValue(Integer.toString(status));
      if (status == 204 || status == 304) {
        assertThat(response.body()).isEmpty();
      }
    }
    HttpResponse<String> head = proxy.send(
        HttpRequest.newBuilder(proxy.uri("/echo")).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(head.statusCode()).isEqualTo(200);
  }

  @Test
  void appendsToAnExistingForwardedFor() {
    proxy.send(HttpRequest.newBuilder(proxy.uri("/xff")).header("X-Forwarded-For", "203.0.113.9").build(),
        HttpResponse.BodyHandlers.discarding());
    assertThat(backend.seen.getLast().header("x-forwarded-for")).isEqualTo("203.0.113.9,127.0.0.1");
  }

  @Test
  void streamsChunkedBodiesBothWays() throws Exception {
    // 32 MiB up as chunked (no Content-Length), echoed back; the proxy holds no whole body.
    byte[] block = new byte[64 * 1024];
    new Random(3).nextBytes(block);
    int blocks = 512;
    HttpResponse<InputStream> up = proxy.send(
        HttpRequest.newBuilder(proxy.uri("/big"))
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new RepeatingStream(block, blocks)))
            .header("X-Big", "1").build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertThat(up.statusCode()).isEqualTo(200);
    assertThat(digest(up.body())).isEqualTo(digest(new RepeatingStream(block, blocks)));

    HttpResponse<InputStream> down = proxy.send(
        HttpRequest.newBuilder(proxy.uri("/stream?chunks=200&size=65536")).build(), HttpResponse.BodyHandlers.ofInputStream());
    assertThat(down.headers().firstValue("Transfer-Encoding")).hasValue("chunked");
    long total = 0;
    try (InputStream in = down.body()) {
      byte[] buf = new byte[65536];
      for (int n; (n = in.read(buf)) > 0; ) {
        total += n;
      }
    }
    assertThat(total).isEqualTo(200L * 65536);
  }

  @Test
  void removesHopByHopHeaders() {
    try (RawHttp raw = new RawHttp(proxy.port())) {
      String response = raw.send("GET /hop HTTP/1.1\r\nHost: app\r\nConnection: keep-alive, X-Private\r\n"
              + "X-Private: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n")
          .readUntil("\r\n\r\n");
      assertThat(RawHttp.status(response)).isEqualTo(200);
    }
    TestBackend.Seen seen = backend.seen.getLast();
    assertThat(seen.headers()).doesNotContainKeys("x-private", "keep-alive", "te", "proxy-connection");
    assertThat(seen.header("x-kept")).isEqualTo("yes");
    assertThat(seen.header("host")).isEqualTo("app");
  }

  @Test
  void relaysExpectContinue() {
    try (RawHttp raw = new RawHttp(proxy.port())) {
      String interim = raw.send("POST /continue HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
          .readUntil("\r\n\r\n");
      assertThat(RawHttp.status(interim)).isEqualTo(100);
      String response = raw.send("hello").readUntil("hello");
      assertThat(RawHttp.status(response)).isEqualTo(200);
      assertThat(response).endsWith("hello");
    }
  }

  @Test
  void upgradesToWebSocket() throws Exception {
    CompletableFuture<String> reply = new CompletableFuture<>();
    WebSocket ws = ProxyUnderTest.CLIENT.newWebSocketBuilder()
        .buildAsync(URI.create("ws://127.0.0.1:" + proxy.port() + "/ws"), new WebSocket.Listener() {
          @Override
          public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            reply.complete(data.toString());
            return null;
          }
        }).get(20, TimeUnit.SECONDS);
    ws.sendText("ping", true);
    assertThat(reply.get(20, TimeUnit.SECONDS)).isEqualTo("echo:ping");
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "done");
  }

  @Test
  void refusesOversizedHeadersWith431() {
    try (RawHttp raw = new RawHttp(proxy.port())) {
      String response = raw.send("GET /big-header HTTP/1.1\r\nHost: app\r\nX-Big: " + "a".repeat(20 * 1024) + "\r\n\r\n")
          .readUntil("\r\n\r\n");
      assertThat(RawHttp.status(response)).isEqualTo(431);
    }
    assertThat(backend.seen).isEmpty();
  }

  @Test
  void refusesOversizedBodiesWith413() {
    try (RawHttp raw = new RawHttp(proxy.port())) {
      String response = raw.send("POST /upload HTTP/1.1\r\nHost: app\r\nContent-Length: 100000000\r\n\r\nstart")
          .readUntil("\r\n\r\n");
      assertThat(RawHttp.status(response)).isEqualTo(413);
    }
    assertThat(backend.seen).isEmpty();
  }

  @Test
  void refusesSmugglingWith400() {
    try (RawHttp raw = new RawHttp(proxy.port())) {
      String response = raw.send("POST /smuggle HTTP/1.1\r\nHost: app\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "0\r\n\r\nGET /inner HTTP/1.1\r\nHost: app\r\n\r\n").readToEnd();
      assertThat(RawHttp.status(response)).isEqualTo(400);
      assertThat(response).doesNotContain("HTTP/1.1 200");
    }
    try (RawHttp raw = new RawHttp(proxy.port())) {
      String response = raw.send("POST /bad-chunk HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
          .readToEnd();
      assertThat(RawHttp.status(response)).isNotEqualTo(200).isNotEqualTo(500);
    }
    assertThat(backend.seen).noneMatch(s -> s.uri().equals("/inner"));
  }

  @Test
  void cutsSlowHeaderSenders() {
    try (RawHttp raw = new RawHttp(proxy.port())) {
      raw.send("GET /slowloris HTTP/1.1\r\nHost: app\r\nX-A: 1\r\n");
      await().atMost(Duration.ofSeconds(20)).until(raw::closedByPeer);
    }
    assertThat(backend.seen).isEmpty();
  }

  private static String digest(InputStream in) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (in) {
      byte[] buf = new byte[65536];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return java.util.HexFormat.of().formatHex(md.digest());
  }

  /** {@code block} repeated {@code times}, without holding it all in memory. */
  static final class RepeatingStream extends InputStream {
    private final byte[] block;
    private final int times;
    private int index;
    private int pos;

    RepeatingStream(byte[] block, int times) {
      this.block = block;
      this.times = times;
    }

    @Override
    public int read() {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (index >= times) {
        return -1;
      }
      int n = Math.min(len, block.length - pos);
      System.arraycopy(block, pos, b, off, n);
      pos += n;
      if (pos == block.length) {
        pos = 0;
        index++;
      }
      return n;
    }
  }
}
