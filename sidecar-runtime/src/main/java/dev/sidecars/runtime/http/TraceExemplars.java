package dev.sidecars.runtime.http;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;

/**
 * Lets a Micrometer {@code PrometheusMeterRegistry} attach the current OpenTelemetry span's trace and span
 * id to histogram buckets as exemplars (shown in OpenMetrics output): pass an instance to its constructor.
 * Only sampled spans become exemplars, so an exemplar always leads to a stored trace.
 */
public final class TraceExemplars implements io.prometheus.metrics.tracer.common.SpanContext {
  @Override
  public String getCurrentTraceId() {
    SpanContext span = Span.current().getSpanContext();
    return span.isValid() ? span.getTraceId() : null;
  }

  @Override
  public String getCurrentSpanId() {
    SpanContext span = Span.current().getSpanContext();
    return span.isValid() ? span.getSpanId() : null;
  }

  @Override
  public boolean isCurrentSpanSampled() {
    return Span.current().getSpanContext().isSampled();
  }

  @Override
  public void markCurrentSpanAsExemplar() {
    // Nothing to mark: the trace is kept by its sampling decision already.
  }
}
