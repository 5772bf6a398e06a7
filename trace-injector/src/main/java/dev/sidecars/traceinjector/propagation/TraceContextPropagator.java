package dev.sidecars.traceinjector.propagation;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * W3C Trace Context, to the letter of the specification: OpenTelemetry's {@link
 * W3CTraceContextPropagator} parses {@code traceparent} and writes both headers; this wrapper fixes
 * where it falls short when it reads them.
 *
 * <ul>
 *   <li>Several {@code traceparent} fields are combined per RFC 7230, which never gives a valid value,
 *       so the trace restarts. (OpenTelemetry reads the first field and ignores the others.)
 *   <li>{@code tracestate} is read by {@link TraceStateHeader}: every field combined, current key
 *       grammar, duplicates and bad members make it invalid as a whole, truncation by whole entries
 *       beyond 512 characters. (OpenTelemetry reads the first field only, rejects keys allowed since
 *       Level 2, and never truncates.)
 *   <li>When {@code traceparent} is invalid, {@code tracestate} is not read at all and nothing from the
 *       incoming W3C headers survives: the spec's "restart the trace".
 * </ul>
 *
 * <p>What OpenTelemetry already does right and is kept: lower-case hex only, all-zero ids rejected,
 * version {@code ff} rejected, version {@code 00} with trailing data rejected, higher versions parsed
 * for their first three fields and re-sent as {@code 00}, unknown flag bits not propagated (a child
 * span carries only the sampled bit).
 */
public final class TraceContextPropagator implements TextMapPropagator {
  static final String TRACEPARENT = "traceparent";
  static final String TRACESTATE = "tracestate";

  private static final TraceContextPropagator INSTANCE = new TraceContextPropagator();
  private final W3CTraceContextPropagator delegate = W3CTraceContextPropagator.getInstance();

  private TraceContextPropagator() {}

  public static TraceContextPropagator getInstance() {
    return INSTANCE;
  }

  @Override
  public Collection<String> fields() {
    return delegate.fields();
  }

  @Override
  public <C> void inject(Context context, C carrier, TextMapSetter<C> setter) {
    delegate.inject(context, carrier, setter);
  }

  @Override
  public <C> Context extract(Context context, C carrier, TextMapGetter<C> getter) {
    List<String> parents = all(getter, carrier, TRACEPARENT);
    if (parents.size() != 1) {
      return context;
    }
    String traceparent = parents.get(0);
    Context parsed = delegate.extract(Context.root(), traceparent, SingleValue.TRACEPARENT_ONLY);
    SpanContext parent = Span.fromContext(parsed).getSpanContext();
    if (!parent.isValid()) {
      return context;
    }
    Optional<Map<String, String>> state = TraceStateHeader.parse(all(getter, carrier, TRACESTATE));
    SpanContext withState =
        SpanContext.createFromRemoteParent(
            parent.getTraceId(),
            parent.getSpanId(),
            parent.getTraceFlags(),
            new ReceivedTraceState(state.orElse(Map.of())));
    return context.with(Span.wrap(withState));
  }

  static <C> List<String> all(TextMapGetter<C> getter, C carrier, String name) {
    List<String> values = new ArrayList<>(1);
    Iterator<String> it = getter.getAll(carrier, name);
    while (it != null && it.hasNext()) {
      String v = it.next();
      if (v != null) {
        values.add(v);
      }
    }
    return values;
  }

  @Override
  public String toString() {
    return "TraceContextPropagator(spec-exact W3C trace context)";
  }

  /** Hands OpenTelemetry one {@code traceparent} value and no {@code tracestate}, which is read here. */
  private enum SingleValue implements TextMapGetter<String> {
    TRACEPARENT_ONLY;

    @Override
    public Iterable<String> keys(String carrier) {
      return List.of(TRACEPARENT);
    }

    @Override
    public String get(String carrier, String key) {
      return TRACEPARENT.equals(key) ? carrier : null;
    }
  }
}
