package dev.sidecars.traceinjector.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sidecars.testing.SidecarProcess;
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
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real gRPC client calling out through trace-injector to a real gRPC app (grpc-java on both sides): the
 * client connects to the sidecar with prior knowledge and names the service as its authority, as an app
 * whose gRPC target is the sidecar does. Every call shape passes with its messages as they come and its
 * trailers; cancellations and deadlines reach the app; the calls carry the client span's context; a
 * refused connect is retried elsewhere; {@code ;protocol=h2c} in {@code UPSTREAMS} sends HTTP/1.1 calls as h2c.
 */
class GrpcThroughInjectorTest {

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

    // Unary, with a custom trailer.
    byte[] message = new byte[100 * 1024];
    new Random(5).nextBytes(message);
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    byte[] echoed = ClientCalls.blockingUnaryCall(
        io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newCaptureMetadataInterceptor(headers, trailers)),
        GrpcApp.ECHO, deadline(), message);
    assertThat(echoed).isEqualTo(message);
    assertThat(trailers.get().get(GrpcApp.CUSTOM_TRAILER)).isEqualTo("t-" + message.length);

    // Server streaming.
    Iterator<byte[]> stream = ClientCalls.blockingServerStreamingCall(channel, GrpcApp.COUNT, deadline(),
        GrpcApp.count(200, 8 * 1024, 0));
    int received = 0;
    while (stream.hasNext()) {
      assertThat(stream.next()).hasSize(8 * 1024).containsOnly((byte) received);
      received++;
    }
    assertThat(received).isEqualTo(200);

    // Client streaming.
    LinkedBlockingQueue<Object> concatenated = new LinkedBlockingQueue<>();
    StreamObserver<byte[]> upload = ClientCalls.asyncClientStreamingCall(channel.newCall(GrpcApp.CONCAT, deadline()),
        collector(concatenated));
    ByteArrayOutputStream sent = new ByteArrayOutputStream();
    Random random = new Random(7);
    for (int i = 0; i < 50; i++) {
      byte[] part = new byte[1 + random.nextInt(20_000)];
      random.nextBytes(part);
      sent.writeBytes(part);
      upload.onNext(part);
    }
    upload.onCompleted();
    assertThat((byte[]) concatenated.poll(20, TimeUnit.SECONDS)).isEqualTo(sent.toByteArray());

    // Bidirectional: each answer comes before the next message is sent, so nothing waits for the end.
    LinkedBlockingQueue<Object> replies = new LinkedBlockingQueue<>();
    StreamObserver<byte[]> chat = ClientCalls.asyncBidiStreamingCall(channel.newCall(GrpcApp.CHAT, deadline()),
        collector(replies));
    for (int i = 0; i < 20; i++) {
      byte[] line = ("line " + i).getBytes();
      chat.onNext(line);
      assertThat((byte[]) replies.poll(20, TimeUnit.SECONDS)).as("reply %d before the next message", i).isEqualTo(line);
    }
    chat.onCompleted();
    assertThat(replies.poll(20, TimeUnit.SECONDS)).isEqualTo("completed");
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
    assertThat(injector.metric("http_client_request_duration_seconds_count{http_request_method=\"POST\","
        + "http_response_status_code=\"200\",server_address=\"streams\"")).isEqualTo(3.0);
  }

  @Test
  void aCancelAndAnExpiredDeadlineReachTheApp() throws Exception {
    app = new GrpcApp();
    start(Map.of("UPSTREAMS", "streams=" + app.url()), false);
    ClientCall<byte[], byte[]> call = channel.newCall(GrpcApp.ENDLESS, CallOptions.DEFAULT);
    LinkedBlockingQueue<Object> received = new LinkedBlockingQueue<>();
    ClientCalls.asyncServerStreamingCall(call, new byte[0], collector(received));
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

  @Test
  void theH2cProtocolSendsAnHttp11CallToTheAppAsHttp2() throws Exception {
    app = new GrpcApp();
    start(Map.of("UPSTREAMS", "streams=" + app.url() + ";protocol=h2c"), false);
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
  }

  @Test
  void anUnknownProtocolStopsTheSidecarNamingUpstreams() {
    SidecarProcess.Result result = SidecarProcess.run(TraceInjectorMain.class,
        Map.of("UPSTREAMS", "quotes=http://quotes:50051;protocol=h3"), Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("trace-injector: UPSTREAMS=") && l.contains("protocol auto, http1 or h2c"));
  }

  private static CallOptions deadline() {
    return CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  /** Messages, then {@code "completed"} or the error, into {@code into}. */
  private static StreamObserver<byte[]> collector(LinkedBlockingQueue<Object> into) {
    return new StreamObserver<>() {
      @Override
      public void onNext(byte[] value) {
        into.add(value);
      }

      @Override
      public void onError(Throwable t) {
        into.add(t);
      }

      @Override
      public void onCompleted() {
        into.add("completed");
      }
    };
  }
}
