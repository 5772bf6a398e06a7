package dev.sidecars.traceinjector.propagation;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.undertow.util.HeaderMap;
import io.undertow.util.HttpString;
import java.util.ArrayList;
import java.util.List;

/**
 * Test helper: one hop as the sidecar's handler chain makes it, on header maps: repeated W3C fields
 * combined, context extracted with a first-value getter (as the shared telemetry handler reads headers),
 * a CLIENT span from a real SDK tracer with the default parent-based sampler, every owned header
 * removed, and the span's context injected.
 */
final class Hops {
  private static final SdkTracerProvider TRACING =
      SdkTracerProvider.builder()
          .setSampler(Sampler.parentBased(Sampler.alwaysOn()))
          .addSpanProcessor(SimpleSpanProcessor.create(SpanExporter.composite()))
          .build();
  private static final TextMapGetter<HeaderMap> FIRST_VALUE = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(HeaderMap carrier) {
      List<String> keys = new ArrayList<>();
      carrier.getHeaderNames().forEach(name -> keys.add(name.toString()));
      return keys;
    }

    @Override
    public String get(HeaderMap carrier, String key) {
      return carrier.getFirst(key);
    }
  };

  private Hops() {}

  static HeaderMap headers(String... nameValue) {
    HeaderMap headers = new HeaderMap();
    for (int i = 0; i < nameValue.length; i += 2) {
      headers.add(new HttpString(nameValue[i]), nameValue[i + 1]);
    }
    return headers;
  }

  /** The outgoing headers after one hop, and its span. */
  record Out(HeaderMap headers, Span span) {
    String first(String name) {
      return headers.getFirst(name);
    }

    List<String> all(String name) {
      return headers.get(name) == null ? List.of() : List.copyOf(headers.get(name));
    }

    String traceId() {
      return span.getSpanContext().getTraceId();
    }

    String spanId() {
      return span.getSpanContext().getSpanId();
    }

    boolean sampled() {
      return span.getSpanContext().isSampled();
    }
  }

  static Out hop(List<String> formats, HeaderMap headers) {
    return hop(formats, headers, true);
  }

  /** With {@code recording} false the SDK has no span processor, as with {@code OTEL_TRACES_EXPORTER=none}. */
  static Out hop(List<String> formats, HeaderMap headers, boolean recording) {
    IdGenerator ids = IdGenerator.random();
    TextMapPropagator propagator = Propagation.of(formats, ids).propagator();
    Propagation.combineRepeated(headers);
    Context parent = propagator.extract(Context.root(), headers, FIRST_VALUE);
    SdkTracerProvider provider = recording ? TRACING : SdkTracerProvider.builder().build();
    Span span = new FreshContextTracer(provider.get("test"), ids)
        .spanBuilder("GET").setSpanKind(SpanKind.CLIENT).setParent(parent).startSpan();
    span.end();
    propagator.fields().forEach(field -> headers.remove(field));
    propagator.inject(parent.with(span), headers, (carrier, key, value) -> carrier.put(new HttpString(key), value));
    return new Out(headers, span);
  }

  static Out w3c(HeaderMap headers) {
    return hop(List.of("tracecontext", "baggage"), headers);
  }
}
