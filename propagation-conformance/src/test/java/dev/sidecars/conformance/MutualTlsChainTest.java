package dev.sidecars.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import dev.sidecars.metricsproxy.MetricsProxyMain;
import dev.sidecars.runtime.Sidecar;
import dev.sidecars.testing.grpc.CallShapes;
import dev.sidecars.testing.grpc.GrpcApp;
import dev.sidecars.testing.tls.TestCa;
import dev.sidecars.traceinjector.TraceInjector;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's picture: an app's plain call to its trace-injector leaves as mutual TLS with the checkout
 * workload's certificate ({@code UPSTREAM_TLS=mtls}), the other pod's metrics-proxy ({@code TLS_MODE=mtls})
 * verifies it and hands the request to its app over plaintext with {@code X-Forwarded-Client-Cert}; the
 * client span names the server's identity, the server span the client's, one trace. trace-injector expects
 * the ledger's identity, not a host name; an upstream expected to be another workload is refused. gRPC goes
 * the same way, as HTTP/2 chosen by ALPN.
 */
class MutualTlsChainTest {
  @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();
  @TempDir Path dir;

  static final String CHECKOUT = "spiffe://cluster.local/ns/shop/sa/checkout";
  static final String LEDGER = "spiffe://cluster.local/ns/shop/sa/ledger";

  private Recorder app;
  private GrpcApp grpcApp;
  private Sidecar ledgerProxy;
  private Sidecar grpcProxy;
  private Sidecar checkoutInjector;

  @BeforeEach
  void start() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    Path caFile = ca.writeCertificate(dir.resolve("ca.crt"));
    ca.leaf().uri(CHECKOUT).issue().writeTo(dir.resolve("checkout.crt"), dir.resolve("checkout.key"));
    ca.leaf().uri(LEDGER).issue().writeTo(dir.resolve("ledger.crt"), dir.resolve("ledger.key"));
    app = Recorder.start();
    grpcApp = new GrpcApp();
    Map<String, String> env = new LinkedHashMap<>(ProxyPair.recording(collector.otelEnvironment()));
    env.put("PROXY_PORT", "0");
    env.put("ADMIN_PORT", "0");
    env.put("BIND_ADDRESS", "127.0.0.1");
    env.put("DRAIN_DELAY", "0s");
    env.put("SHUTDOWN_GRACE", "5s");
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_LOGS_EXPORTER", "none");
    env.put("TLS_CA_FILE", caFile.toString());
    Map<String, String> ingress = new LinkedHashMap<>(env);
    ingress.put("OTEL_SERVICE_NAME", "ledger-proxy");
    ingress.put("TLS_MODE", "mtls");
    ingress.put("TLS_CERT_FILE", dir.resolve("ledger.crt").toString());
    ingress.put("TLS_KEY_FILE", dir.resolve("ledger.key").toString());
    ingress.put("TARGET_URL", app.url());
    ledgerProxy = Sidecar.start(new MetricsProxyMain(), ingress);
    ingress.put("TARGET_URL", grpcApp.url());
    ingress.put("OTEL_SERVICE_NAME", "streams-proxy");
    grpcProxy = Sidecar.start(new MetricsProxyMain(), ingress);
    Map<String, String> egress = new LinkedHashMap<>(env);
    egress.put("OTEL_SERVICE_NAME", "checkout-egress");
    egress.put("UPSTREAM_TLS", "mtls");
    egress.put("TLS_CERT_FILE", dir.resolve("checkout.crt").toString());
    egress.put("TLS_KEY_FILE", dir.resolve("checkout.key").toString());
    int ledger = ledgerProxy.ports().get("proxy");
    egress.put("UPSTREAMS", "ledger=http://127.0.0.1:" + ledger + ";identity=" + LEDGER
        + ",streams=http://127.0.0.1:" + grpcProxy.ports().get("proxy") + ";identity=" + LEDGER
        + ",impostor=http://127.0.0.1:" + ledger + ";identity=spiffe://cluster.local/ns/shop/sa/payment");
    egress.put("RETRY_MAX", "0");
    checkoutInjector = Sidecar.start(new TraceInjector(), egress);
  }

  @AfterEach
  void stop() {
    checkoutInjector.close();
    ledgerProxy.close();
    grpcProxy.close();
    grpcApp.close();
    app.close();
  }

  private HttpResponse<String> call(String path) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + checkoutInjector.ports().get("proxy") + path))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aPlainCallLeavesAsMutualTlsAndArrivesWithTheCallersIdentity() throws Exception {
    HttpResponse<String> response = call("/ledger/entries/7");
    assertThat(response.statusCode()).isEqualTo(200);
    Forwarded arrived = app.seen("/entries/7");
    assertThat(arrived.all("x-forwarded-client-cert")).singleElement().satisfies(xfcc -> {
      assertThat(xfcc).startsWith("By=" + LEDGER + ";");
      assertThat(xfcc).endsWith(";URI=" + CHECKOUT);
    });
    String traceId = arrived.traceparent().traceId();
    List<Received<Span>> spans = collector.awaitTrace(traceId, 2);
    Span client = only(spans, "checkout-egress");
    Span server = only(spans, "ledger-proxy");
    assertThat(client.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
    assertThat(attribute(client, "sidecar.peer.identity")).as("the client span names the server").isEqualTo(LEDGER);
    assertThat(attribute(server, "sidecar.peer.identity")).as("the server span names the client").isEqualTo(CHECKOUT);
    assertThat(TraceId.hex(server.getParentSpanId())).isEqualTo(TraceId.hex(client.getSpanId()));
    // Both were offered by ALPN and metrics-proxy chose h2: the HTTP/1.1 call went on as HTTP/2.
    assertThat(attribute(server, "network.protocol.version")).isEqualTo("2");
  }

  @Test
  void anUpstreamExpectedToBeAnotherWorkloadIsRefused() throws Exception {
    HttpResponse<String> response = call("/impostor/entries/7");
    assertThat(response.statusCode()).isEqualTo(502);
    assertThat(response.body()).contains("bad_name");
    assertThat(checkoutInjector.registry().scrape()).contains("tls_handshake_failures_total{reason=\"bad_name\"} 1.0");
  }

  @Test
  void grpcCallsGoOverTlsAsHttp2AndARefusedOneEndsUnavailable() throws Exception {
    int port = checkoutInjector.ports().get("proxy");
    ManagedChannel streams = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().overrideAuthority("streams").build();
    ManagedChannel impostor = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().overrideAuthority("impostor").build();
    try {
      CallShapes.checkAll(streams, 64 * 1024);
      assertThatThrownBy(() -> CallShapes.unary(impostor, 16))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    } finally {
      streams.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      impostor.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static Span only(List<Received<Span>> spans, String service) {
    List<Span> found = spans.stream().filter(s -> s.service().equals(service)).map(Received::item).toList();
    assertThat(found).as("%s spans", service).hasSize(1);
    return found.get(0);
  }

  private static String attribute(Span span, String key) {
    return span.getAttributesList().stream().filter(a -> a.getKey().equals(key)).map(KeyValue::getValue)
        .map(v -> v.hasIntValue() ? Long.toString(v.getIntValue()) : v.getStringValue()).findFirst().orElse(null);
  }
}
