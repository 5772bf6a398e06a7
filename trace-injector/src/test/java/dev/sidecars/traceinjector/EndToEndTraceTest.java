package dev.sidecars.traceinjector;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import dev.sidecars.traceinjector.testing.Backend;
import dev.sidecars.traceinjector.testing.Injector;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.undertow.server.HttpServerExchange;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One trace across three processes' worth of spans, all received by the real collector-stub: the app's
 * SERVER span (made here with the OpenTelemetry SDK, standing in for the metrics-proxy in front of the
 * app, which this module does not depend on; the demo's {@code SuiteEndToEndTest} runs the real
 * metrics-proxy, app and trace-injector chain), the trace-injector's CLIENT span, and the downstream
 * service's SERVER span, each the parent of the next.
 */
class EndToEndTraceTest {
  @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();

  private static final TextMapGetter<HttpServerExchange> EXCHANGE = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(HttpServerExchange carrier) {
      return List.of();
    }

    @Override
    public String get(HttpServerExchange carrier, String key) {
      return carrier.getRequestHeaders().getFirst(key);
    }
  };

  private static SdkTracerProvider tracing(String service) {
    return SdkTracerProvider.builder()
        .setResource(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), service)))
        .addSpanProcessor(SimpleSpanProcessor.create(
            OtlpHttpSpanExporter.builder().setEndpoint(collector.otlpHttpUrl() + "/v1/traces").build()))
        .build();
  }

  @Test
  void appServerSpanClientSpanAndDownstreamServerSpanFormOneTrace() {
    try (SdkTracerProvider app = tracing("shop");
        SdkTracerProvider ledgerTracing = tracing("ledger");
        Backend ledger = Backend.start("ledger").observe(exchange -> {
          Context parent = W3CTraceContextPropagator.getInstance().extract(Context.root(), exchange, EXCHANGE);
          ledgerTracing.get("ledger").spanBuilder("GET /entries").setSpanKind(SpanKind.SERVER).setParent(parent).startSpan().end();
        })) {
      Map<String, String> env = new LinkedHashMap<>(collector.otelEnvironment());
      env.put("OTEL_TRACES_EXPORTER", "otlp");
      env.put("OTEL_SERVICE_NAME", "shop");
      env.put("OTEL_PROPAGATORS", "tracecontext,baggage,b3");
      env.put("UPSTREAMS", "ledger=" + ledger.url());
      try (Injector injector = Injector.start(env)) {
        Span server = app.get("shop").spanBuilder("GET /checkout").setSpanKind(SpanKind.SERVER).startSpan();
        Map<String, String> outgoing = new HashMap<>();
        W3CTraceContextPropagator.getInstance().inject(Context.root().with(server), outgoing, Map::put);
        HttpResponse<String> response = injector.get("/ledger/entries?day=1", "traceparent", outgoing.get("traceparent"), "baggage", "tenant=acme");
        server.end();
        assertThat(response.statusCode()).isEqualTo(200);

        String traceId = server.getSpanContext().getTraceId();
        assertThat(ledger.last().header("b3")).startsWith(traceId + "-");
        assertThat(ledger.last().header("baggage")).isEqualTo("tenant=acme");

        List<Received<io.opentelemetry.proto.trace.v1.Span>> spans = collector.awaitTrace(traceId, 3);
        io.opentelemetry.proto.trace.v1.Span appSpan = only(spans, "shop", io.opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER);
        io.opentelemetry.proto.trace.v1.Span client = only(spans, "shop", io.opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_CLIENT);
        io.opentelemetry.proto.trace.v1.Span downstream = only(spans, "ledger", io.opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER);

        assertThat(TraceId.hex(client.getParentSpanId())).isEqualTo(TraceId.hex(appSpan.getSpanId()));
        assertThat(TraceId.hex(downstream.getParentSpanId())).isEqualTo(TraceId.hex(client.getSpanId()));
        assertThat(client.getName()).isEqualTo("GET");
        assertThat(attribute(client, "http.request.method")).isEqualTo("GET");
        assertThat(attribute(client, "server.address")).isEqualTo("ledger");
        assertThat(attribute(client, "peer.service")).isEqualTo("ledger");
        assertThat(attribute(client, "server.port")).isEqualTo(Integer.toString(ledger.port()));
        assertThat(attribute(client, "url.full")).isEqualTo(ledger.url() + "/entries?day=1");
        assertThat(attribute(client, "http.response.status_code")).isEqualTo("200");
      }
    }
  }

  private static io.opentelemetry.proto.trace.v1.Span only(
      List<Received<io.opentelemetry.proto.trace.v1.Span>> spans, String service, io.opentelemetry.proto.trace.v1.Span.SpanKind kind) {
    List<io.opentelemetry.proto.trace.v1.Span> found = spans.stream()
        .filter(r -> r.service().equals(service) && r.item().getKind() == kind).map(Received::item).toList();
    assertThat(found).as("%s %s spans", service, kind).hasSize(1);
    return found.get(0);
  }

  private static String attribute(io.opentelemetry.proto.trace.v1.Span span, String key) {
    Optional<KeyValue> kv = span.getAttributesList().stream().filter(a -> a.getKey().equals(key)).findFirst();
    assertThat(kv).as(key).isPresent();
    var value = kv.get().getValue();
    return value.hasIntValue() ? Long.toString(value.getIntValue()) : value.getStringValue();
  }
}
