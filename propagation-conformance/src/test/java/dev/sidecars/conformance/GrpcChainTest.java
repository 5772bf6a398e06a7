package dev.sidecars.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import dev.sidecars.metricsproxy.MetricsProxyMain;
import dev.sidecars.runtime.Sidecar;
import dev.sidecars.testing.grpc.CallShapes;
import dev.sidecars.testing.grpc.GrpcApp;
import dev.sidecars.traceinjector.TraceInjector;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * gRPC from one pod to another through both sidecars: a real gRPC client calls out through trace-injector
 * (prior knowledge, the service named as its authority), which sends the call as h2c to metrics-proxy in
 * front of a real gRPC app. Every call shape passes with its messages and trailers, and the two hops'
 * spans are one trace: metrics-proxy's SERVER span the child of trace-injector's CLIENT span.
 */
class GrpcChainTest {
  @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();

  private GrpcApp app;
  private Sidecar metricsProxy;
  private Sidecar traceInjector;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    app = new GrpcApp();
    Map<String, String> env = new LinkedHashMap<>(ProxyPair.recording(collector.otelEnvironment()));
    env.put("PROXY_PORT", "0");
    env.put("ADMIN_PORT", "0");
    env.put("BIND_ADDRESS", "127.0.0.1");
    env.put("ACCESS_LOG", "off");
    env.put("DRAIN_DELAY", "0s");
    env.put("SHUTDOWN_GRACE", "5s");
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_LOGS_EXPORTER", "none");
    Map<String, String> ingress = new LinkedHashMap<>(env);
    ingress.put("OTEL_SERVICE_NAME", "metrics-proxy");
    ingress.put("TARGET_URL", app.url());
    metricsProxy = Sidecar.start(new MetricsProxyMain(), ingress);
    Map<String, String> egress = new LinkedHashMap<>(env);
    egress.put("OTEL_SERVICE_NAME", "trace-injector");
    egress.put("UPSTREAMS", "streams=http://127.0.0.1:" + metricsProxy.ports().get("proxy"));
    traceInjector = Sidecar.start(new TraceInjector(), egress);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", traceInjector.ports().get("proxy")).usePlaintext()
        .overrideAuthority("streams").build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    traceInjector.close();
    metricsProxy.close();
    app.close();
  }

  private static CallOptions deadline() {
    return CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  @Test
  void everyCallShapePassesThroughBothSidecars() throws Exception {
    CallShapes.checkAll(channel, 64 * 1024);
  }

  @Test
  void theTwoHopsSpansAreOneTrace() {
    ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO, deadline(), new byte[] {7});
    String traceparent = app.lastHeaders.get().get(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER));
    assertThat(traceparent).isNotNull();
    String traceId = traceparent.split("-")[1];
    String appParent = traceparent.split("-")[2];
    List<Received<Span>> spans = collector.awaitTrace(traceId, 2);
    Span client = spans.stream().filter(s -> s.service().equals("trace-injector")).map(Received::item).findFirst().orElseThrow();
    Span server = spans.stream().filter(s -> s.service().equals("metrics-proxy")).map(Received::item).findFirst().orElseThrow();
    assertThat(client.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
    assertThat(server.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
    assertThat(TraceId.hex(server.getParentSpanId())).as("metrics-proxy continues trace-injector's span")
        .isEqualTo(TraceId.hex(client.getSpanId()));
    assertThat(TraceId.hex(server.getSpanId())).as("the app's parent is metrics-proxy's span").isEqualTo(appParent);
  }
}
