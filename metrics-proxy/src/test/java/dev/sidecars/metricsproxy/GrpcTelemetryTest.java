package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.testing.grpc.GrpcApp;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.trace.v1.Span;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * gRPC calls through metrics-proxy recorded per the OpenTelemetry RPC conventions: spans named {@code
 * package.Service/Method} with {@code rpc.*} attributes and the call's status code, errors as the
 * conventions say for servers; {@code rpc_server_call_duration_seconds} on {@code /metrics} and over OTLP,
 * unknown services and methods folded.
 */
class GrpcTelemetryTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension();

  private static final String SERVICE = "grpc-shop";
  private static final String COUNT = "rpc_server_call_duration_seconds_count";
  private static final MethodDescriptor<byte[], byte[]> MISSING = other("test.Streams/Missing");
  private static final MethodDescriptor<byte[], byte[]> UNKNOWN_SERVICE = other("other.Svc/Do");

  private GrpcApp app;
  private ProxyUnderTest proxy;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    app = new GrpcApp();
    Map<String, String> env = new HashMap<>(collector.otelEnvironment());
    env.put("OTEL_SERVICE_NAME", SERVICE);
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    env.put("OTEL_METRICS_EXPORTER", "otlp");
    env.put("TARGET_URL", app.url());
    env.put("ROUTES", "/test.Streams/{method}");
    proxy = ProxyUnderTest.start(env);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    proxy.close();
    app.close();
  }

  @Test
  void callsAreSpansAndMetricsByServiceMethodAndStatus() {
    for (int i = 0; i < 3; i++) {
      ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), new byte[i]);
    }
    Iterator<byte[]> stream = ClientCalls.blockingServerStreamingCall(channel, GrpcApp.COUNT,
        CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), GrpcApp.count(5, 10, 0));
    stream.forEachRemaining(m -> {});
    assertThat(failure(MISSING)).isEqualTo(Status.Code.UNIMPLEMENTED);
    assertThat(failure(UNKNOWN_SERVICE)).isEqualTo(Status.Code.UNIMPLEMENTED);
    ClientCall<byte[], byte[]> endless = channel.newCall(GrpcApp.ENDLESS, CallOptions.DEFAULT);
    Iterator<byte[]> running = ClientCalls.blockingServerStreamingCall(endless, new byte[0]);
    running.next();
    endless.cancel("enough", null);

    String metrics = await().atMost(Duration.ofSeconds(20)).until(() -> proxy.admin("/metrics", null).body(),
        t -> PrometheusText.value(t, COUNT, "rpc_grpc_status_code", "1").orElse(0) == 1);
    assertThat(PrometheusText.value(metrics, COUNT, "rpc_system", "grpc", "rpc_service", "test.Streams", "rpc_method", "Echo",
        "rpc_grpc_status_code", "0")).hasValue(3);
    assertThat(PrometheusText.value(metrics, COUNT, "rpc_service", "test.Streams", "rpc_method", "Count",
        "rpc_grpc_status_code", "0")).hasValue(1);
    assertThat(PrometheusText.value(metrics, COUNT, "rpc_service", "test.Streams", "rpc_method", "Missing",
        "rpc_grpc_status_code", "12")).hasValue(1);
    // Not named by ROUTES: folded, so a client inventing names cannot grow the series.
    assertThat(PrometheusText.value(metrics, COUNT, "rpc_service", "_OTHER", "rpc_method", "_OTHER",
        "rpc_grpc_status_code", "12")).hasValue(1);
    assertThat(PrometheusText.value(metrics, COUNT, "rpc_service", "test.Streams", "rpc_method", "Endless",
        "rpc_grpc_status_code", "1")).hasValue(1);
    assertThat(PrometheusText.value(metrics, COUNT)).hasValue(7);

    List<Span> spans = collector.awaitSpans(SERVICE, 7).stream().map(r -> r.item()).toList();
    Span echo = spans.stream().filter(s -> s.getName().equals("test.Streams/Echo")).findFirst().orElseThrow();
    assertThat(echo.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
    assertThat(TelemetryTest.attributes(echo)).containsEntry("rpc.system", "grpc")
        .containsEntry("rpc.service", "test.Streams").containsEntry("rpc.method", "Echo")
        .containsEntry("rpc.grpc.status_code", "0").containsEntry("network.protocol.version", "2")
        .doesNotContainKey("error.type");
    assertThat(echo.getStatus().getCode()).isNotEqualTo(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR);

    Span missing = spans.stream().filter(s -> s.getName().equals("test.Streams/Missing")).findFirst().orElseThrow();
    assertThat(TelemetryTest.attributes(missing)).containsEntry("rpc.grpc.status_code", "12")
        .containsEntry("error.type", "UNIMPLEMENTED");
    assertThat(missing.getStatus().getCode()).isEqualTo(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR);

    // The span keeps the real names (spans are not aggregated); CANCELLED is the client's doing, no server error.
    assertThat(spans).anyMatch(s -> s.getName().equals("other.Svc/Do"));
    Span cancelled = spans.stream().filter(s -> s.getName().equals("test.Streams/Endless")).findFirst().orElseThrow();
    assertThat(TelemetryTest.attributes(cancelled)).containsEntry("rpc.grpc.status_code", "1");
    assertThat(cancelled.getStatus().getCode()).isNotEqualTo(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR);

    collector.awaitMetric(SERVICE, "rpc.server.call.duration");
  }

  /** Messages per call, counted from the streams as they pass: one histogram each way, per method. */
  @Test
  void messagesPerCallAreCountedBothWays() throws Exception {
    Iterator<byte[]> counted = ClientCalls.blockingServerStreamingCall(channel, GrpcApp.COUNT,
        CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), GrpcApp.count(5, 10, 0));
    counted.forEachRemaining(m -> {});
    // Client streaming, with an empty message and one spread over many DATA frames.
    CompletableFuture<byte[]> joined = new CompletableFuture<>();
    StreamObserver<byte[]> concat = ClientCalls.asyncClientStreamingCall(
        channel.newCall(GrpcApp.CONCAT, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS)), new StreamObserver<>() {
          @Override
          public void onNext(byte[] value) {
            joined.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            joined.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    concat.onNext(new byte[0]);
    concat.onNext(new byte[200 * 1024]);
    concat.onNext(new byte[3]);
    concat.onCompleted();
    assertThat(joined.get(20, TimeUnit.SECONDS)).hasSize(200 * 1024 + 3);

    String metrics = await().atMost(Duration.ofSeconds(20)).until(() -> proxy.admin("/metrics", null).body(),
        t -> PrometheusText.value(t, COUNT, "rpc_method", "Concat").orElse(0) == 1);
    assertThat(PrometheusText.value(metrics, "rpc_server_requests_per_rpc_sum", "rpc_method", "Count", "rpc_grpc_status_code", "0")).hasValue(1);
    assertThat(PrometheusText.value(metrics, "rpc_server_responses_per_rpc_sum", "rpc_method", "Count", "rpc_grpc_status_code", "0")).hasValue(5);
    assertThat(PrometheusText.value(metrics, "rpc_server_requests_per_rpc_sum", "rpc_method", "Concat")).hasValue(3);
    assertThat(PrometheusText.value(metrics, "rpc_server_responses_per_rpc_sum", "rpc_method", "Concat")).hasValue(1);
    assertThat(PrometheusText.value(metrics, "rpc_server_requests_per_rpc_count", "rpc_method", "Concat")).hasValue(1);
    assertThat(PrometheusText.value(metrics, "rpc_server_requests_per_rpc_bucket", "rpc_method", "Concat", "le", "2.0")).hasValue(0);
    assertThat(PrometheusText.value(metrics, "rpc_server_requests_per_rpc_bucket", "rpc_method", "Concat", "le", "4.0")).hasValue(1);
  }

  /** The proxy's own gRPC answer is recorded with the status it gave (here UNAVAILABLE: the app refuses connections). */
  @Test
  void theProxysOwnAnswerIsRecordedWithItsGrpcStatus() throws Exception {
    int closed;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    Map<String, String> env = new HashMap<>(collector.otelEnvironment());
    env.put("OTEL_SERVICE_NAME", "grpc-refused");
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    env.put("TARGET_URL", "http://127.0.0.1:" + closed);
    env.put("ROUTES", "/test.Streams/{method}");
    try (ProxyUnderTest refusing = ProxyUnderTest.start(env)) {
      ManagedChannel toRefusing = NettyChannelBuilder.forAddress("127.0.0.1", refusing.port()).usePlaintext().build();
      try {
        ClientCalls.blockingUnaryCall(toRefusing, GrpcApp.ECHO, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), new byte[1]);
        throw new AssertionError("the call succeeded");
      } catch (StatusRuntimeException e) {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      } finally {
        toRefusing.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      String metrics = await().atMost(Duration.ofSeconds(20)).until(() -> refusing.admin("/metrics", null).body(),
          t -> PrometheusText.value(t, COUNT).orElse(0) == 1);
      assertThat(PrometheusText.value(metrics, COUNT, "rpc_service", "test.Streams", "rpc_method", "Echo",
          "rpc_grpc_status_code", "14")).hasValue(1);
      Span span = collector.awaitSpans("grpc-refused", 1).get(0).item();
      assertThat(span.getName()).isEqualTo("test.Streams/Echo");
      assertThat(TelemetryTest.attributes(span)).containsEntry("rpc.grpc.status_code", "14")
          .containsEntry("http.response.status_code", "200").containsEntry("error.type", "connection_refused");
      assertThat(span.getStatus().getCode()).isEqualTo(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR);
    }
  }

  private Status.Code failure(MethodDescriptor<byte[], byte[]> method) {
    try {
      ClientCalls.blockingUnaryCall(channel, method, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), new byte[1]);
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
    throw new AssertionError("the call succeeded");
  }

  private static MethodDescriptor<byte[], byte[]> other(String fullName) {
    return MethodDescriptor.newBuilder(GrpcApp.BYTES, GrpcApp.BYTES).setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(fullName).build();
  }
}
