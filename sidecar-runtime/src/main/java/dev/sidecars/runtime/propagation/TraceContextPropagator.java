package dev.sidecars.runtime.propagation;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.Collection;
import java.util.List;

/**
 * W3C Trace Context Level 2 to the letter: OpenTelemetry's {@link W3CTraceContextPropagator} parses and
 * writes {@code traceparent}; {@code tracestate} is read by {@link TraceStateHeader} and written as it
 * says. Where this differs from OpenTelemetry alone:
 *
 * <ul>
 *   <li>Several {@code traceparent} fields (the getter combines them with {@code ,}) restart the trace,
 *       whatever their version; OpenTelemetry would continue a higher version followed by anything.
 *   <li>Spaces and tabs around the {@code traceparent} value are not part of it (RFC 9110 OWS).
 *   <li>{@code tracestate}: every field, the Level 2 key grammar, member-by-member validation, repeated
 *       keys and the limits, see {@link TraceStateHeader}; it goes on as received when it is valid.
 *   <li>When {@code traceparent} is invalid, {@code tracestate} is not read at all, so nothing of the
 *       incoming W3C headers survives: the spec's "restart the trace".
 * </ul>
 *
 * <p>Kept from OpenTelemetry: lower-case hex only, all-zero ids rejected, version {@code ff} rejected,
 * version {@code 00} with trailing data rejected, higher versions parsed for their first three fields
 * (at least 55 characters, a dash after the flags if longer) and sent on as {@code 00}, and the flags of
 * the span that goes out: sampled and the Level 2 random-trace-id flag (the SDK sets it on the ids it
 * generates and keeps the caller's when it continues a trace), never other bits.
 */
final class TraceContextPropagator implements TextMapPropagator {
  static final String TRACEPARENT = "traceparent";
  static final String TRACESTATE = "tracestate";
  private static final List<String> FIELDS = List.of(TRACEPARENT, TRACESTATE);
  static final TraceContextPropagator INSTANCE = new TraceContextPropagator();
  /** OpenTelemetry gets one {@code traceparent} and no {@code tracestate}, which is read here. */
  private static final OneField TRACEPARENT_ONLY = new OneField(TRACEPARENT);

  private final W3CTraceContextPropagator delegate = W3CTraceContextPropagator.getInstance();

  private TraceContextPropagator() {}

  @Override
  public Collection<String> fields() {
    return FIELDS;
  }

  @Override
  public <C> void inject(Context context, C carrier, TextMapSetter<C> setter) {
    SpanContext span = Span.fromContext(context).getSpanContext();
    if (!(span.getTraceState() instanceof ReceivedTraceState received) || !span.isValid()) {
      delegate.inject(context, carrier, setter);
      return;
    }
    // OpenTelemetry would rebuild the list from its members (a 512-character buffer and a copy on every
    // request); the text already is what goes out.
    SpanContext withoutState =
        SpanContext.create(span.getTraceId(), span.getSpanId(), span.getTraceFlags(), TraceState.getDefault());
    delegate.inject(Context.root().with(Span.wrap(withoutState)), carrier, setter);
    setter.set(carrier, TRACESTATE, received.header());
  }

  @Override
  public <C> Context extract(Context context, C carrier, TextMapGetter<C> getter) {
    String traceparent = getter.get(carrier, TRACEPARENT);
    if (traceparent == null || traceparent.indexOf(',') >= 0) {
      return context;
    }
    Context parsed = delegate.extract(context, withoutOws(traceparent), TRACEPARENT_ONLY);
    SpanContext parent = Span.fromContext(parsed).getSpanContext();
    if (parsed == context || !parent.isValid()) {
      return context;
    }
    String state = getter.get(carrier, TRACESTATE);
    String forwarded = state == null ? null : TraceStateHeader.forwarded(state);
    if (forwarded == null) {
      return parsed;
    }
    return context.with(Span.wrap(SpanContext.createFromRemoteParent(
        parent.getTraceId(), parent.getSpanId(), parent.getTraceFlags(), new ReceivedTraceState(forwarded))));
  }

  private static String withoutOws(String value) {
    int start = 0;
    int end = value.length();
    while (start < end && (value.charAt(start) == ' ' || value.charAt(start) == '\t')) {
      start++;
    }
    while (end > start && (value.charAt(end - 1) == ' ' || value.charAt(end - 1) == '\t')) {
      end--;
    }
    return start == 0 && end == value.length() ? value : value.substring(start, end);
  }

  @Override
  public String toString() {
    return "TraceContextPropagator(W3C Trace Context Level 2)";
  }
}
