package dev.sidecars.runtime.propagation;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.extension.trace.propagation.JaegerPropagator;
import java.util.Collection;

/**
 * OpenTelemetry's {@link JaegerPropagator} with the debug flag honoured. In {@code uber-trace-id} the
 * flags are a hex byte: {@code 0x01} sampled, {@code 0x02} debug, and a debug trace is one the caller
 * forces to be recorded; OpenTelemetry reads only the sampled bit, so {@code …:2} became a trace that is
 * not sampled. Here debug means sampled (as B3's {@code X-B3-Flags: 1} does). Everything else, the
 * {@code uberctx-*} and {@code jaeger-baggage} baggage included, is OpenTelemetry's.
 */
final class JaegerSpecPropagator implements TextMapPropagator {
  static final String HEADER = "uber-trace-id";
  private static final int DEBUG = 0x02;
  static final JaegerSpecPropagator INSTANCE = new JaegerSpecPropagator();

  private final JaegerPropagator jaeger = JaegerPropagator.getInstance();

  private JaegerSpecPropagator() {}

  @Override
  public Collection<String> fields() {
    return jaeger.fields();
  }

  @Override
  public <C> void inject(Context context, C carrier, TextMapSetter<C> setter) {
    jaeger.inject(context, carrier, setter);
  }

  @Override
  public <C> Context extract(Context context, C carrier, TextMapGetter<C> getter) {
    Context extracted = jaeger.extract(context, carrier, getter);
    Span found = Span.fromContext(extracted);
    SpanContext span = found.getSpanContext();
    if (!span.isValid() || span.isSampled() || found == Span.fromContext(context)) {
      return extracted;
    }
    if ((flags(getter.get(carrier, HEADER)) & DEBUG) == 0) {
      return extracted;
    }
    return extracted.with(Span.wrap(SpanContext.createFromRemoteParent(
        span.getTraceId(), span.getSpanId(), TraceFlags.getSampled(), span.getTraceState())));
  }

  /** The flags field (after the last {@code :}, or URL-encoded {@code %3A}) of a header OpenTelemetry accepted. */
  static int flags(String header) {
    if (header == null) {
      return 0;
    }
    int colon = header.lastIndexOf(':');
    int start = colon >= 0 ? colon + 1 : Math.max(header.lastIndexOf("%3A"), header.lastIndexOf("%3a")) + 3;
    int flags = 0;
    for (int i = start; i < header.length(); i++) {
      int digit = Character.digit(header.charAt(i), 16);
      if (digit < 0) {
        return 0;
      }
      flags = (flags << 4) | digit;
    }
    return flags;
  }

  @Override
  public String toString() {
    return "JaegerSpecPropagator(" + jaeger + ")";
  }
}
