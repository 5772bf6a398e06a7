package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.testing.grpc.GrpcApp;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP/2 streams through metrics-proxy between a real gRPC client (prior knowledge) and a real gRPC app:
 * messages and trailers pass, a cancel on either side reaches the other (a stream stalled on flow control
 * included), and a drain lets running streams finish after GOAWAY. (gRPC-specific behaviour, such as
 * deadlines and answers in gRPC form, is not the proxy's yet: these are plain HTTP/2 semantics.)
 */
class GrpcStreamsTest {
  private GrpcApp app;
  private ProxyUnderTest proxy;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    app = new GrpcApp();
    proxy = ProxyUnderTest.start(Map.of("TARGET_URL", app.url(), "DRAIN_DELAY", "0s", "SHUTDOWN_GRACE", "20s"));
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    if (proxy != null) {
      proxy.close();
    }
    app.close();
  }

  @Test
  void messagesAndTrailersPassByteForByte() {
    byte[] message = new byte[100 * 1024];
    new Random(5).nextBytes(message);
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    byte[] echoed = ClientCalls.blockingUnaryCall(channel.newCall(GrpcApp.ECHO,
            CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS)),
        message);
    assertThat(echoed).isEqualTo(message);
    ClientCalls.blockingUnaryCall(
        io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newCaptureMetadataInterceptor(headers, trailers)),
        GrpcApp.ECHO, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), new byte[7]);
    assertThat(trailers.get().get(GrpcApp.CUSTOM_TRAILER)).isEqualTo("t-7");

    Iterator<byte[]> stream = ClientCalls.blockingServerStreamingCall(channel, GrpcApp.COUNT,
        CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), GrpcApp.count(200, 8 * 1024, 0));
    int received = 0;
    while (stream.hasNext()) {
      byte[] next = stream.next();
      assertThat(next).hasSize(8 * 1024).containsOnly((byte) received);
      received++;
    }
    assertThat(received).isEqualTo(200);
  }

  /** An answer that is only a head (grpc-java's UNIMPLEMENTED for an unknown method) stays one: its status arrives. */
  @Test
  void aTrailersOnlyAnswerOfTheAppPassesWithItsStatus() {
    MethodDescriptor<byte[], byte[]> missing = MethodDescriptor.newBuilder(GrpcApp.BYTES, GrpcApp.BYTES)
        .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("test.Streams/Missing").build();
    try {
      ClientCalls.blockingUnaryCall(channel, missing, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), new byte[1]);
      throw new AssertionError("the call succeeded");
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
      assertThat(e.getStatus().getDescription()).isEqualTo("Method not found: test.Streams/Missing");
    }
  }

  /**
   * A bidirectional call whose client stays quiet longer than REQUEST_BODY_TIMEOUT once the app has
   * answered is a conversation, not a slow upload: it goes on.
   */
  @Test
  void aQuietClientStreamOutlivesTheBodyTimeoutOnceAnswered() throws Exception {
    try (ProxyUnderTest strict = ProxyUnderTest.start(Map.of("TARGET_URL", app.url(), "REQUEST_BODY_TIMEOUT", "300ms"))) {
      ManagedChannel toStrict = NettyChannelBuilder.forAddress("127.0.0.1", strict.port()).usePlaintext().build();
      try {
        java.util.concurrent.BlockingQueue<byte[]> echoed = new java.util.concurrent.LinkedBlockingQueue<>();
        CompletableFuture<Status> closed = new CompletableFuture<>();
        ClientCall<byte[], byte[]> call = toStrict.newCall(GrpcApp.CHAT, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS));
        call.start(new ClientCall.Listener<>() {
          @Override
          public void onMessage(byte[] message) {
            echoed.add(message);
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        }, new Metadata());
        call.request(Integer.MAX_VALUE);
        call.sendMessage(new byte[] {1});
        assertThat(echoed.poll(10, TimeUnit.SECONDS)).containsExactly(1);
        // Quiet for five body timeouts.
        await().pollDelay(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> true);
        assertThat(closed).isNotDone();
        call.sendMessage(new byte[] {2});
        assertThat(echoed.poll(10, TimeUnit.SECONDS)).containsExactly(2);
        call.halfClose();
        assertThat(closed.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
      } finally {
        toStrict.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aClientCancelReachesTheApp() {
    ClientCall<byte[], byte[]> call = channel.newCall(GrpcApp.ENDLESS, CallOptions.DEFAULT);
    Iterator<byte[]> stream = ClientCalls.blockingServerStreamingCall(call, new byte[0]);
    for (int i = 0; i < 3; i++) {
      assertThat(stream.next()).hasSize(1024);
    }
    call.cancel("done reading", null);
    await().atMost(Duration.ofSeconds(10)).until(() -> app.cancelled.get() == 1);
  }

  @Test
  void cancellingAnUploadStalledOnFlowControlReachesTheApp() {
    ClientCall<byte[], byte[]> call = channel.newCall(GrpcApp.STALL, CallOptions.DEFAULT);
    CompletableFuture<Status> closed = GrpcApp.start(call);
    // 3.2 MiB, far beyond the windows of the app, the proxy and the client: the upload stalls.
    for (int i = 0; i < 200; i++) {
      call.sendMessage(new byte[16 * 1024]);
    }
    await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> !closed.isDone());
    assertThat(call.isReady()).isFalse();
    call.cancel("giving up", null);
    await().atMost(Duration.ofSeconds(10)).until(() -> app.cancelled.get() == 1);
    assertThat(closed.join().getCode()).isEqualTo(Status.Code.CANCELLED);
  }

  @Test
  void anAppDyingMidStreamReachesTheClientAtOnce() throws Exception {
    ClientCall<byte[], byte[]> call = channel.newCall(GrpcApp.ENDLESS, CallOptions.DEFAULT);
    AtomicInteger messages = new AtomicInteger();
    CompletableFuture<Status> closed = GrpcApp.start(call, messages);
    call.request(Integer.MAX_VALUE);
    call.sendMessage(new byte[0]);
    call.halfClose();
    // Mid-stream: the answer has begun (before it, the proxy would answer UNAVAILABLE itself).
    await().atMost(Duration.ofSeconds(10)).until(() -> messages.get() > 0);
    assertThat(app.cancelled.get()).isZero();
    assertThat(closed).isNotDone();
    app.kill();
    // Not CANCELLED (which says the client gave up) and not a hang: the response broke off.
    assertThat(closed.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.INTERNAL);
  }

  /** The app resets a stream after answering part of it: the client gets the message, then the error (not a hang). */
  @Test
  void anAppResettingMidStreamReachesTheClientAsAnError() throws Exception {
    try (ResettingApp resetting = new ResettingApp();
        ProxyUnderTest second = ProxyUnderTest.start(Map.of("TARGET_URL", resetting.url(), "TARGET_PROTOCOL", "h2c"))) {
      ManagedChannel toSecond = NettyChannelBuilder.forAddress("127.0.0.1", second.port()).usePlaintext().build();
      try {
        Iterator<byte[]> stream = ClientCalls.blockingServerStreamingCall(toSecond, GrpcApp.ENDLESS,
            CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), new byte[0]);
        assertThat(stream.next()).containsExactly(4, 2);
        StatusRuntimeException broken = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class, stream::hasNext);
        assertThat(broken.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
      } finally {
        toSecond.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** The app's GOAWAY (a graceful restart) ends no running stream on the proxy's shared connection to it. */
  @Test
  void anAppsGracefulShutdownLetsItsRunningStreamsFinish() throws Exception {
    CompletableFuture<List<byte[]>> running = slowStreamRunning();
    app.drain();
    assertThat(running.get(30, TimeUnit.SECONDS)).hasSize(20);
  }

  @Test
  void aDrainLetsRunningStreamsFinish() throws Exception {
    CompletableFuture<List<byte[]>> running = slowStreamRunning();
    CompletableFuture<Void> stopped = CompletableFuture.runAsync(proxy::close);
    assertThat(running.get(30, TimeUnit.SECONDS)).hasSize(20);
    stopped.get(30, TimeUnit.SECONDS);
    proxy = null;
  }

  /**
   * SIGTERM (the lifecycle's stop) on one of two proxies in front of the app, while a long stream runs
   * through it: its clients get GOAWAY, calls that still reach it are refused as not processed
   * (REFUSED_STREAM), so a gRPC client balancing over both sends them to the other proxy without a single
   * failed call, and the running stream finishes within SHUTDOWN_GRACE.
   */
  @Test
  void aSigtermSendsNewCallsElsewhereWhileRunningStreamsFinish() throws Exception {
    try (ProxyUnderTest other = ProxyUnderTest.start(Map.of("TARGET_URL", app.url()))) {
      ManagedChannel both = NettyChannelBuilder.forTarget("proxies:///both")
          .nameResolverFactory(addresses(List.of(new InetSocketAddress("127.0.0.1", proxy.port()),
              new InetSocketAddress("127.0.0.1", other.port()))))
          .defaultLoadBalancingPolicy("round_robin").usePlaintext().build();
      try {
        for (int i = 0; i < 4; i++) {
          echo(both);
        }
        // 10 s: still running when the calls below are made (SHUTDOWN_GRACE is 20 s).
        CompletableFuture<List<byte[]>> running = slowStreamRunning(100);
        CompletableFuture<Void> stopped = CompletableFuture.runAsync(proxy::close);
        // Once the first proxy refuses new calls (a fresh client to it alone is told UNAVAILABLE)...
        await().atMost(Duration.ofSeconds(10)).until(() -> {
          ManagedChannel fresh = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
          try {
            echo(fresh);
            return false;
          } catch (StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            return true;
          } finally {
            fresh.shutdownNow();
          }
        });
        // ...calls balanced over both all succeed: those that reach it are retried at the other.
        int before = app.echoes.get();
        for (int i = 0; i < 20; i++) {
          echo(both);
        }
        assertThat(app.echoes.get() - before).isEqualTo(20);
        assertThat(running.isDone()).isFalse();
        assertThat(running.get(30, TimeUnit.SECONDS)).hasSize(100);
        stopped.get(30, TimeUnit.SECONDS);
        proxy = null;
      } finally {
        both.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static void echo(ManagedChannel to) {
    assertThat(ClientCalls.blockingUnaryCall(to, GrpcApp.ECHO, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
        new byte[] {9})).containsExactly(9);
  }

  /** A resolver giving a gRPC channel these addresses, as a headless service's DNS name would. */
  private static NameResolver.Factory addresses(List<InetSocketAddress> addresses) {
    return new NameResolver.Factory() {
      @Override
      public NameResolver newNameResolver(URI target, NameResolver.Args args) {
        return new NameResolver() {
          @Override
          public String getServiceAuthority() {
            return "proxies";
          }

          @Override
          public void start(Listener2 listener) {
            listener.onResult(ResolutionResult.newBuilder()
                .setAddresses(addresses.stream().map(EquivalentAddressGroup::new).toList()).build());
          }

          @Override
          public void shutdown() {}
        };
      }

      @Override
      public String getDefaultScheme() {
        return "proxies";
      }
    };
  }

  /** A stream of 20 messages 100 ms apart, once it runs through the proxy; completes with what came. */
  private CompletableFuture<List<byte[]>> slowStreamRunning() {
    return slowStreamRunning(20);
  }

  /** A stream of {@code count} messages 100 ms apart, once it runs through the proxy; completes with what came. */
  private CompletableFuture<List<byte[]>> slowStreamRunning(int count) {
    CompletableFuture<List<byte[]>> running = CompletableFuture.supplyAsync(() -> {
      List<byte[]> got = new ArrayList<>();
      ClientCalls.blockingServerStreamingCall(channel, GrpcApp.COUNT, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS),
          GrpcApp.count(count, 100, 100)).forEachRemaining(got::add);
      return got;
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> proxy.admin("/metrics", null).body().contains("http_server_active_requests 1"));
    return running;
  }
}
