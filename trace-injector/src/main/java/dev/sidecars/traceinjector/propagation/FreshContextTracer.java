package dev.sidecars.traceinjector.propagation;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.IdGenerator;
import java.util.concurrent.TimeUnit;

/**
 * The SDK's tracer, made to always give a hop its own valid context. With no span processor (say
 * {@code OTEL_TRACES_EXPORTER=none}) the SDK hands out a no-op tracer, whose spans are the parent itself
 * or nothing: the sidecar would then send the caller's parent id on, or no {@code traceparent} at all
 * when the caller sent none. Here such a span is replaced by a non-recording one with a new span id (and
 * a new trace id when there was no parent), so downstream always sees a fresh, valid context. A new
 * trace that nobody records is sent as not sampled.
 */
public final class FreshContextTracer implements Tracer {
  private final Tracer delegate;
  private final IdGenerator ids;

  public FreshContextTracer(Tracer delegate, IdGenerator ids) {
    this.delegate = delegate;
    this.ids = ids;
  }

  @Override
  public SpanBuilder spanBuilder(String spanName) {
    return new Builder(delegate.spanBuilder(spanName));
  }

  private Span carried(Span span, SpanContext parent) {
    SpanContext own = span.getSpanContext();
    if (own.isValid() && !(parent.isValid() && own.getSpanId().equals(parent.getSpanId()))) {
      return span;
    }
    if (parent.isValid()) {
      TraceFlags flags = parent.isSampled() ? TraceFlags.getSampled() : TraceFlags.getDefault();
      return Span.wrap(SpanContext.create(parent.getTraceId(), ids.generateSpanId(), flags, parent.getTraceState()));
    }
    return Span.wrap(
        SpanContext.create(ids.generateTraceId(), ids.generateSpanId(), TraceFlags.getDefault(), TraceState.getDefault()));
  }

  private final class Builder implements SpanBuilder {
    private final SpanBuilder builder;
    private Context parent;

    Builder(SpanBuilder builder) {
      this.builder = builder;
    }

    @Override
    public SpanBuilder setParent(Context context) {
      parent = context;
      builder.setParent(context);
      return this;
    }

    @Override
    public SpanBuilder setNoParent() {
      parent = Context.root();
      builder.setNoParent();
      return this;
    }

    @Override
    public SpanBuilder addLink(SpanContext spanContext) {
      builder.addLink(spanContext);
      return this;
    }

    @Override
    public SpanBuilder addLink(SpanContext spanContext, Attributes attributes) {
      builder.addLink(spanContext, attributes);
      return this;
    }

    @Override
    public SpanBuilder setAttribute(String key, String value) {
      builder.setAttribute(key, value);
      return this;
    }

    @Override
    public SpanBuilder setAttribute(String key, long value) {
      builder.setAttribute(key, value);
      return this;
    }

    @Override
    public SpanBuilder setAttribute(String key, double value) {
      builder.setAttribute(key, value);
      return this;
    }

    @Override
    public SpanBuilder setAttribute(String key, boolean value) {
      builder.setAttribute(key, value);
      return this;
    }

    @Override
    public <T> SpanBuilder setAttribute(AttributeKey<T> key, T value) {
      builder.setAttribute(key, value);
      return this;
    }

    @Override
    public SpanBuilder setSpanKind(SpanKind spanKind) {
      builder.setSpanKind(spanKind);
      return this;
    }

    @Override
    public SpanBuilder setStartTimestamp(long startTimestamp, TimeUnit unit) {
      builder.setStartTimestamp(startTimestamp, unit);
      return this;
    }

    @Override
    public Span startSpan() {
      Span span = builder.startSpan();
      return carried(span, Span.fromContext(parent == null ? Context.current() : parent).getSpanContext());
    }
  }
}
