package dev.sidecars.traceinjector.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import dev.sidecars.testing.SidecarProcess;
import dev.sidecars.testing.grpc.CallShapes;
import dev.sidecars.testing.grpc.GrpcApp;
import dev.sidecars.traceinjector.TraceInjectorMain;
import dev.sidecars.traceinjector.testing.Backend;
import dev.sidecars.traceinjector.testing.Injector;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A real gRPC client calling out through trace-injector to a real gRPC app (grpc-java on both sides): the
 * client connects to the sidecar with prior knowledge and names the service as its authority, as an app
 * whose gRPC target is the sidecar does. Every call shape passes with its messages as they come and its
 * trailers; cancellations and deadlines reach the app; the calls carry the client span's context and are
 * recorded as RPCs; the sidecar's own answers are in gRPC form; a refused connect is retried elsewhere;
 * {@code ;protocol=h2c} in {@code UPSTREAMS} sends HTTP/1.1 calls as h2c.
 */
class GrpcThroughInjectorTest {
  @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();


  private GrpcApp app;
  private Injector injector;
  private ManagedChannel channel;

  private void start(Map<String, String> env, boolean firstPick) throws Exception {
    injector = firstPick ? Injector.startFirstPick(env) : Injector.start(env);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", injector.port()).usePlaintext().overrideAuthority("streams").build();
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (injector != null) {
      injector.close();
    }
    if (app != null) {
      app.close();
    }
  }

  @Test
  void everyCallShapePassesWithItsMessagesAndTrailers() throws Exception {
    app = new GrpcApp();
    start(Map.of("UPSTREAMS", "streams=" + app.url()), false);
    CallShapes.checkAll(channel, 100 * 1024);
  }

  @Test
  void callsCarryTheClientSpansContextAndAreCountedAsHttp2() throws Exception {
    app = new GrpcApp();
    start(Map.of("UPSTREAMS", "streams=" + app.url()), false);
    for (int i = 0; i < 3; i++) {
      ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, deadline(), new byte[] {1, 2, 3});
    }
    Metadata seen = app.lastHeaders.get();
    assertThat(seen.get(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER))).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
    assertThat(seen.get(Metadata.Key.of("via", Metadata.ASCII_STRING_MARSHALLER))).startsWith("1.1 trace-injector-");
    assertThat(seen.get(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER))).isNotBlank();
    // Recorded as the exchange ends, which may be just after the client has its answer.
    await().atMost(Duration.ofSeconds(10)).until(() -> injector.metric("http_client_request_duration_seconds_count{"
        + "http_request_method=\"POST\",http_response_status_code=\"200\",server_address=\"streams\"") == 3.0);
  }

  @Test
  void callsAreRecordedAsRpcs() throws Exception {
    app = new GrpcApp();
    Map<String, String> env = new LinkedHashMap<>(collector.otelEnvironment());
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    env.put("OTEL_SERVICE_NAME", "caller");
    env.put("UPSTREAMS", "streams=" + app.url());
    start(env, false);
    for (int i = 0; i < 3; i++) {
      ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, deadline(), new byte[] {1});
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> injector.metric("rpc_client_call_duration_seconds_count{"
        + "rpc_grpc_status_code=\"0\",rpc_method=\"Echo\",rpc_service=\"test.Streams\",rpc_system=\"grpc\"") == 3.0);
    ClientCalls.blockingServerStreamingCall(channel, GrpcApp.COUNT, deadline(), GrpcApp.count(4, 10, 0)).forEachRemaining(m -> {});
    // Messages per call, as the app sent and received them.
    String count = "{rpc_grpc_status_code=\"0\",rpc_method=\"Count\",rpc_service=\"test.Streams\",rpc_system=\"grpc\"}";
    await().atMost(Duration.ofSeconds(10)).until(() -> injector.metric("rpc_client_responses_per_rpc_sum" + count) == 4.0);
    assertThat(injector.metric("rpc_client_requests_per_rpc_sum" + count)).isEqualTo(1.0);
    assertThat(injector.metric("rpc_client_responses_per_rpc_sum" + count.replace("Count", "Echo"))).isEqualTo(3.0);
    List<Received<Span>> spans = collector.awaitSpans("caller", 4).stream()
        .filter(received -> !received.item().getName().endsWith("/Count")).toList();
    assertThat(spans).hasSize(3).allSatisfy(received -> {
      Span span = received.item();
      assertThat(span.getName()).isEqualTo("test.Streams/Echo");
      assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
      Map<String, String> attributes = new LinkedHashMap<>();
      span.getAttributesList().forEach(a -> attributes.put(a.getKey(),
          a.getValue().hasStringValue() ? a.getValue().getStringValue() : Long.toString(a.getValue().getIntValue())));
      assertThat(attributes).containsEntry("rpc.system", "grpc").containsEntry("rpc.service", "test.Streams")
          .containsEntry("rpc.method", "Echo").containsEntry("rpc.grpc.status_code", "0")
          .containsEntry("peer.service", "streams").containsEntry("network.protocol.version", "2");
    });
  }

  @Test
  void theSidecarsOwnAnswersAreInGrpcFormAndTheUpstreamTimeoutBoundsTheDeadline() throws Exception {
    app = new GrpcApp();
    int dead = Backend.closedPort();
    start(Map.of("UPSTREAMS", "streams=" + app.url() + ",gone=http://127.0.0.1:" + dead, "RETRY_MAX", "0",
        "UPSTREAM_TIMEOUTS", "streams=2s"), false);
    // The app is told the deadline it really has: the upstream timeout, shorter than the client's.
    ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS),
        new byte[] {1});
    assertThat(app.lastTimeout.get()).isEqualTo("2000m");

    ManagedChannel toGone = NettyChannelBuilder.forAddress("127.0.0.1", injector.port()).usePlaintext()
        .overrideAuthority("gone").build();
    try {
      assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(toGone, GrpcApp.ECHO, deadline(), new byte[] {1}))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("refused the connection").doesNotContain("HTTP status");
          });
    } finally {
      toGone.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aCancelAndAnExpiredDeadlineReachTheApp() throws Exception {
    app = new GrpcApp();
    start(Map.of("UPSTREAMS", "streams=" + app.url()), false);
    ClientCall<byte[], byte[]> call = channel.newCall(GrpcApp.ENDLESS, CallOptions.DEFAULT);
    LinkedBlockingQueue<Object> received = new LinkedBlockingQueue<>();
    ClientCalls.asyncServerStreamingCall(call, new byte[0], CallShapes.into(received));
    assertThat(received.poll(20, TimeUnit.SECONDS)).isInstanceOf(byte[].class);
    call.cancel("the client gives up", null);
    await().atMost(Duration.ofSeconds(20)).until(() -> app.cancelled.get() == 1);

    Iterator<byte[]> endless = ClientCalls.blockingServerStreamingCall(channel, GrpcApp.ENDLESS,
        CallOptions.DEFAULT.withDeadlineAfter(500, TimeUnit.MILLISECONDS), new byte[0]);
    assertThatThrownBy(() -> endless.forEachRemaining(m -> {}))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    await().atMost(Duration.ofSeconds(20)).until(() -> app.cancelled.get() == 2);
  }

  @Test
  void aDrainLetsRunningStreamsFinishAndSendsNewCallsAway() throws Exception {
    app = new GrpcApp();
    start(Map.of("UPSTREAMS", "streams=" + app.url(), "DRAIN_DELAY", "0s", "SHUTDOWN_GRACE", "20s"), false);
    // 20 messages 100 ms apart: the stream runs for two seconds.
    CompletableFuture<List<byte[]>> running = CompletableFuture.supplyAsync(() -> {
      List<byte[]> got = new ArrayList<>();
      ClientCalls.blockingServerStreamingCall(channel, GrpcApp.COUNT, deadline(), GrpcApp.count(20, 100, 100))
          .forEachRemaining(got::add);
      return got;
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> injector.metric("http_client_active_requests") == 1.0);
    CompletableFuture<Void> stopped = CompletableFuture.runAsync(injector::close);
    assertThat(running.get(30, TimeUnit.SECONDS)).as("the running stream, to its end").hasSize(20);
    stopped.get(30, TimeUnit.SECONDS);
    injector = null;
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, deadline(), new byte[] {1}))
        .as("a new call once the sidecar went away")
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(app.calls.get()).as("calls that reached the app").isEqualTo(1);
  }

  @Test
  void aCallWhoseConnectionIsRefusedGoesToTheNextEndpoint() throws Exception {
    app = new GrpcApp();
    int dead = Backend.closedPort();
    // The balancer's random picks fixed: the refusing endpoint, listed first, gets the first attempt.
    start(Map.of("UPSTREAMS", "streams=http://127.0.0.1:" + dead + "|" + app.url()), true);
    byte[] echoed = ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, deadline(), new byte[] {42});
    assertThat(echoed).containsExactly(42);
    assertThat(app.calls.get()).isEqualTo(1);
    assertThat(injector.metric("trace_injector_upstream_retries_total{server_address=\"streams\"")).isEqualTo(1.0);
  }

  /** An HTTP/1.1 client and a gRPC client with prior knowledge, on the same port, to the same h2c service. */
  @Test
  void theH2cProtocolSendsAnHttp11CallToTheAppAsHttp2() throws Exception {
    app = new GrpcApp();
    start(Map.of("UPSTREAMS", "streams=" + app.url() + ";protocol=h2c"), false);
    assertThat(ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, deadline(), new byte[] {9})).containsExactly(9);
    byte[] message = "over HTTP/1.1".getBytes();
    byte[] frame = ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length).put(message).array();
    HttpResponse<byte[]> response = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + injector.port() + "/streams/test.Streams/Echo"))
            .header("Content-Type", "application/grpc")
            .header("TE", "trailers")
            .timeout(Duration.ofSeconds(20))
            .POST(HttpRequest.BodyPublishers.ofByteArray(frame))
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValue("application/grpc");
    assertThat(response.body()).isEqualTo(frame);
    assertThat(app.calls.get()).isEqualTo(2);
  }

  @Test
  void anUnknownProtocolStopsTheSidecarNamingUpstreams() {
    SidecarProcess.Result result = SidecarProcess.run(TraceInjectorMain.class,
        Map.of("UPSTREAMS", "quotes=http://quotes:50051;protocol=h3"), Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("trace-injector: UPSTREAMS=") && l.contains("protocol auto, http1, h2c or h2"));
  }

  private static CallOptions deadline() {
    return CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS);
  }
}
