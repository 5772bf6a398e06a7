package dev.sidecars.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import dev.sidecars.conformance.Forwarded.Traceparent;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Both proxies in one chain, as they run beside an app: a caller sends B3 or Jaeger to metrics-proxy, the
 * app behind it passes the trace headers it received on to its outbound call through trace-injector, and
 * the upstream receives every format with one trace id. What the upstream receives, sent back in at the
 * start, continues the same trace: the formats round-trip. Spans are recorded, so the parent links are
 * checked on what the collector received.
 */
class ChainRoundTripTest {
  @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();

  static final String T64 = "a3ce929d0e0e4736";
  static final String SPAN = "00f067aa0ba902b7";

  private static Hop traceInjector;
  private static Hop metricsProxy;

  @BeforeAll
  static void start() {
    Map<String, String> env = new java.util.LinkedHashMap<>(ProxyPair.recording(collector.otelEnvironment()));
    env.put("OTEL_PROPAGATORS", "tracecontext,jaeger,baggage,b3");
    traceInjector = Hop.start(Hop.Kind.TRACE_INJECTOR, env);
    metricsProxy = Hop.start(Hop.Kind.METRICS_PROXY, env);
    metricsProxy.next().forwardingTo(traceInjector.port(), traceInjector.prefix());
  }

  @AfterAll
  static void stop() {
    metricsProxy.close();
    traceInjector.close();
  }

  /** What the app and the upstream received for one request sent in at metrics-proxy. */
  private record Through(Forwarded app, Forwarded upstream) {}

  private static Through send(String... nameValue) {
    Forwarded app = metricsProxy.send(nameValue);
    // The app calls out under the path it was called with.
    return new Through(app, traceInjector.next().seen(metricsProxy.lastPath()));
  }

  /** The same trace and span in every format of one hop's output. */
  private static Traceparent consistent(Forwarded out) {
    Traceparent w3c = out.traceparent();
    String flag = w3c.sampled() ? "1" : "0";
    assertThat(out.all("b3")).containsExactly(w3c.traceId() + "-" + w3c.parentId() + "-" + flag);
    assertThat(out.all("uber-trace-id")).containsExactly(w3c.traceId() + ":" + w3c.parentId() + ":0:" + flag);
    return w3c;
  }

  private static Span span(List<Received<Span>> spans, String service) {
    List<Span> found = spans.stream().filter(s -> s.service().equals(service)).map(Received::item).toList();
    assertThat(found).as("%s spans", service).hasSize(1);
    return found.get(0);
  }

  private static void linked(String traceId, String callerSpan, Traceparent app, Traceparent upstream) {
    List<Received<Span>> spans = collector.awaitTrace(traceId, 2);
    Span server = span(spans, "metrics-proxy");
    Span client = span(spans, "trace-injector");
    assertThat(TraceId.hex(server.getParentSpanId())).as("metrics-proxy continues the caller").isEqualTo(callerSpan);
    assertThat(TraceId.hex(server.getSpanId())).as("the app's parent is metrics-proxy's span").isEqualTo(app.parentId());
    assertThat(TraceId.hex(client.getParentSpanId())).as("trace-injector continues the app").isEqualTo(app.parentId());
    assertThat(TraceId.hex(client.getSpanId())).as("the upstream's parent is trace-injector's span").isEqualTo(upstream.parentId());
  }

  @Test
  void b3SingleInContinuesThroughBothProxiesAndRoundTrips() {
    String trace = "463ac35c9f6413ad48485a3953bb6124";
    Through first = send("b3", trace + "-" + SPAN + "-1");
    Traceparent app = consistent(first.app());
    Traceparent upstream = consistent(first.upstream());
    assertThat(app.traceId()).isEqualTo(trace);
    assertThat(upstream.traceId()).isEqualTo(trace);
    linked(trace, SPAN, app, upstream);

    // The upstream calls back in with the B3 header it received: the same trace goes on.
    Through back = send("b3", first.upstream().first("b3"));
    assertThat(consistent(back.upstream()).traceId()).isEqualTo(trace);
    assertThat(consistent(back.app()).parentId()).isNotEqualTo(upstream.parentId());
  }

  @Test
  void b3MultiIn64BitContinuesPaddedThroughBothProxies() {
    Through first = send("X-B3-TraceId", T64, "X-B3-SpanId", SPAN, "X-B3-ParentSpanId", "05e3ac9a4f6e3b90", "X-B3-Sampled", "1");
    String padded = "0000000000000000" + T64;
    Traceparent app = consistent(first.app());
    Traceparent upstream = consistent(first.upstream());
    assertThat(upstream.traceId()).isEqualTo(padded);
    assertThat(first.upstream().all("X-B3-ParentSpanId")).isEmpty();
    linked(padded, SPAN, app, upstream);
  }

  @Test
  void b3DebugReachesTheUpstreamSampled() {
    String trace = "563ac35c9f6413ad48485a3953bb6124";
    Through first = send("b3", trace + "-" + SPAN + "-d");
    assertThat(first.upstream().traceparent().sampled()).isTrue();
    assertThat(first.upstream().first("b3")).endsWith("-d");
  }

  @Test
  void jaegerInContinuesThroughBothProxiesWithItsBaggageAndRoundTrips() {
    String trace = "663ac35c9f6413ad48485a3953bb6124";
    Through first = send("uber-trace-id", trace + ":" + SPAN + ":0:1", "uberctx-tenant", "acme");
    Traceparent app = consistent(first.app());
    Traceparent upstream = consistent(first.upstream());
    assertThat(upstream.traceId()).isEqualTo(trace);
    assertThat(first.upstream().all("uberctx-tenant")).containsExactly("acme");
    assertThat(first.upstream().all("baggage")).containsExactly("tenant=acme");
    linked(trace, SPAN, app, upstream);

    Through back = send("uber-trace-id", first.upstream().first("uber-trace-id"), "uberctx-tenant", "acme");
    assertThat(consistent(back.upstream()).traceId()).isEqualTo(trace);
    assertThat(back.upstream().all("uberctx-tenant")).containsExactly("acme");
  }

  @Test
  void jaegerDebugReachesTheUpstreamSampled() {
    String trace = "763ac35c9f6413ad48485a3953bb6124";
    Through first = send("uber-trace-id", trace + ":" + SPAN + ":0:2");
    assertThat(consistent(first.upstream()).sampled()).isTrue();
  }

  @Test
  void w3cInComesOutAsB3AndJaegerAtTheEnd() {
    String trace = "863ac35c9f6413ad48485a3953bb6124";
    Through first = send("traceparent", "00-" + trace + "-" + SPAN + "-03", "tracestate", "rojo=1,congo=2");
    Traceparent upstream = consistent(first.upstream());
    assertThat(upstream.traceId()).isEqualTo(trace);
    assertThat(upstream.random()).as("the caller's random flag survives both hops").isTrue();
    assertThat(first.upstream().all("tracestate")).containsExactly("rojo=1,congo=2");
  }
}
