package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.testing.grpc.GrpcApp;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a gRPC client gets when metrics-proxy answers a call itself: an HTTP 200 whose head ends the
 * stream with {@code grpc-status} and {@code grpc-message} (never an HTTP 5xx, which a gRPC client cannot
 * read), the code fitting the cause, and the access log still flagging why. {@code grpc-timeout} is the
 * call's deadline in the proxy: the app's stream is reset and the client told {@code DEADLINE_EXCEEDED}.
 */
class GrpcAnswersTest {
  private final ByteArrayOutputStream accessLog = new ByteArrayOutputStream();
  private GrpcApp app;
  private ProxyUnderTest proxy;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (proxy != null) {
      proxy.close();
    }
    if (app != null) {
      app.close();
    }
  }

  private void start(String targetUrl, String... env) {
    proxy = ProxyUnderTest.start(new PrintStream(accessLog, true, StandardCharsets.UTF_8),
        Map.of("TARGET_URL", targetUrl, "ACCESS_LOG", "on"), env);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  @Test
  void anUnreachableAppIsUnavailableThenTheOpenCircuitToo() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    start("http://127.0.0.1:" + closed, "BREAKER_FAILURES", "1", "BREAKER_OPEN", "60s");

    Status refused = statusOf(() -> echo(new byte[3]));
    assertThat(refused.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(refused.getDescription()).isEqualTo("proxy: upstream refused the connection");
    Status open = statusOf(() -> echo(new byte[3]));
    assertThat(open.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(open.getDescription()).isEqualTo("proxy: upstream circuit open");

    List<String> lines = accessLines(2);
    assertThat(lines.get(0)).contains("\"status\":200").contains("\"flags\":\"UF\"");
    assertThat(lines.get(1)).contains("\"status\":200").contains("\"flags\":\"UO\"");
  }

  /** Seen by a client that reads the HTTP/2 frames itself: 200, the status in the head, no body. */
  @Test
  void theAnswerIsTrailersOnlyWithStatus200() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    start("http://127.0.0.1:" + closed);
    try (H2cClient h2 = new H2cClient(proxy.port())) {
      FullHttpResponse answer = h2.send(grpcRequest("/test.Streams/Echo", null));
      try {
        assertThat(answer.status().code()).isEqualTo(200);
        assertThat(answer.headers().get("content-type")).isEqualTo("application/grpc");
        assertThat(answer.headers().get("grpc-status")).isEqualTo("14");
        assertThat(answer.headers().get("grpc-message")).isEqualTo("proxy: upstream refused the connection");
        assertThat(answer.content().readableBytes()).isZero();
        assertThat(answer.trailingHeaders().isEmpty()).isTrue();
      } finally {
        answer.release();
      }
    }
  }

  @Test
  void overTheConcurrencyLimitIsResourceExhausted() throws Exception {
    app = new GrpcApp();
    start(app.url(), "MAX_CONCURRENT_REQUESTS", "1");
    ClientCall<byte[], byte[]> running = channel.newCall(GrpcApp.ENDLESS, CallOptions.DEFAULT);
    Iterator<byte[]> stream = ClientCalls.blockingServerStreamingCall(running, new byte[0]);
    assertThat(stream.next()).hasSize(1024);

    Status refused = statusOf(() -> echo(new byte[3]));
    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getDescription()).isEqualTo("proxy: too many requests in flight");
    running.cancel("done", null);
    assertThat(accessLines(1).get(0)).contains("\"status\":200").contains("\"flags\":\"OM\"");
  }

  /** Over a limit of RATE_LIMITS, RESOURCE_EXHAUSTED (a gRPC client reads a 429 as UNAVAILABLE and retries). */
  @Test
  void overARateLimitIsResourceExhausted() throws Exception {
    app = new GrpcApp();
    start(app.url(), "RATE_LIMITS", "*=1/m");
    assertThat(echo(new byte[] {5})).containsExactly(5);
    Status limited = statusOf(() -> echo(new byte[3]));
    assertThat(limited.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(accessLines(2).get(1)).contains("\"status\":200").contains("\"flags\":\"RL\"");
  }

  /** A caller AUTHZ_POLICY does not allow: PERMISSION_DENIED, and the app never sees the call. */
  @Test
  void aCallerThePolicyRefusesIsPermissionDenied() throws Exception {
    app = new GrpcApp();
    start(app.url(), "AUTHZ_POLICY", "/test.Streams/ = spiffe://cluster.local/ns/shop/sa/checkout");
    Status denied = statusOf(() -> echo(new byte[3]));
    assertThat(denied.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(accessLines(1).get(0)).contains("\"status\":200").contains("\"flags\":\"UA\"");
  }

  /** The app never answers and the client set no deadline: the proxy's UPSTREAM_TIMEOUT ends the call in gRPC form. */
  @Test
  void anUpstreamTimeoutIsDeadlineExceeded() throws Exception {
    app = new GrpcApp();
    start(app.url(), "UPSTREAM_TIMEOUT", "500ms");
    CompletableFuture<Status> closed = stall(CallOptions.DEFAULT);
    Status status = closed.get(20, TimeUnit.SECONDS);
    assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(status.getDescription()).isEqualTo("proxy: upstream timed out");
    await().atMost(Duration.ofSeconds(10)).until(() -> app.cancelled.get() == 1);
    assertThat(accessLines(1).get(0)).contains("\"status\":200").contains("\"flags\":\"UT\"");
  }

  /**
   * UPSTREAM_TIMEOUT passing while the app streams (the client set no deadline): the stream ends between
   * two messages with DEADLINE_EXCEEDED in trailers, after the messages sent so far, not with a reset
   * (which a gRPC client reports as INTERNAL); the app's stream is cancelled.
   */
  @Test
  void anUpstreamTimeoutMidStreamEndsItWithDeadlineExceeded() throws Exception {
    app = new GrpcApp();
    start(app.url(), "UPSTREAM_TIMEOUT", "1s");
    ClientCall<byte[], byte[]> call = channel.newCall(GrpcApp.ENDLESS, CallOptions.DEFAULT);
    AtomicInteger messages = new AtomicInteger();
    CompletableFuture<Status> closed = GrpcApp.start(call, messages);
    call.request(Integer.MAX_VALUE);
    call.sendMessage(new byte[0]);
    call.halfClose();
    Status status = closed.get(20, TimeUnit.SECONDS);
    assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(status.getDescription()).isEqualTo("proxy: upstream timed out");
    assertThat(messages.get()).isPositive();
    await().atMost(Duration.ofSeconds(10)).until(() -> app.cancelled.get() == 1);
    assertThat(accessLines(1).get(0)).contains("\"status\":200").contains("\"flags\":\"UT\"");
  }

  /**
   * A client that sends {@code grpc-timeout} but keeps no timer of its own (so only the proxy can end the
   * call): at the deadline, the app's stream is cancelled and the client gets DEADLINE_EXCEEDED.
   */
  @Test
  void grpcTimeoutIsTheDeadlineInTheProxy() throws Exception {
    app = new GrpcApp();
    start(app.url(), "UPSTREAM_TIMEOUT", "30s");
    try (H2cClient h2 = new H2cClient(proxy.port())) {
      long start = System.nanoTime();
      FullHttpResponse answer = h2.send(grpcRequest("/test.Streams/Stall", "300m"));
      try {
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(250), Duration.ofSeconds(10));
        assertThat(answer.status().code()).isEqualTo(200);
        assertThat(answer.headers().get("grpc-status")).isEqualTo("4");
        assertThat(answer.headers().get("grpc-message")).isEqualTo("proxy: grpc-timeout of 300 ms passed");
      } finally {
        answer.release();
      }
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> app.cancelled.get() == 1);
    assertThat(accessLines(1).get(0)).contains("\"status\":200").contains("\"flags\":\"UT\"");
  }

  /** An UPSTREAM_TIMEOUT shorter than the client's deadline is what the app is told. */
  @Test
  void aShorterUpstreamTimeoutIsTheDeadlineTheAppSees() throws Exception {
    app = new GrpcApp();
    start(app.url(), "UPSTREAM_TIMEOUT", "2s");
    assertThat(ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS),
        new byte[] {1})).containsExactly(1);
    assertThat(app.lastTimeout.get()).isEqualTo("2000m");
  }

  private byte[] echo(byte[] message) {
    return ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), message);
  }

  /** A call the app takes but never answers; completes with the status the client got. */
  private CompletableFuture<Status> stall(CallOptions options) {
    ClientCall<byte[], byte[]> call = channel.newCall(GrpcApp.STALL, options);
    CompletableFuture<Status> closed = GrpcApp.start(call);
    call.sendMessage(new byte[1]);
    call.halfClose();
    return closed;
  }

  private static Status statusOf(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
    throw new AssertionError("the call succeeded");
  }

  /** A gRPC request as grpc-java sends it, one empty message, {@code grpc-timeout} when not null. */
  static FullHttpRequest grpcRequest(String path, String timeout) {
    FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path,
        Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 0, 1, 7}));
    request.headers().set(HttpHeaderNames.HOST, "app").set(HttpHeaderNames.CONTENT_TYPE, "application/grpc")
        .set(HttpHeaderNames.TE, "trailers");
    if (timeout != null) {
      request.headers().set("grpc-timeout", timeout);
    }
    return request;
  }

  private List<String> accessLines(int count) {
    return await().atMost(Duration.ofSeconds(20)).until(
        () -> accessLog.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{")).toList(),
        l -> l.size() >= count);
  }
}
