package dev.sidecars.traceinjector.propagation;

import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.extension.trace.propagation.B3Propagator;
import io.opentelemetry.extension.trace.propagation.JaegerPropagator;
import io.opentelemetry.extension.trace.propagation.OtTracePropagator;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.HttpString;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The formats of {@code OTEL_PROPAGATORS} as one propagator, built from OpenTelemetry's propagators with
 * this package's spec fixes in place of the plain W3C ones and around B3.
 *
 * <p>Extraction follows OpenTelemetry's composite semantics: formats are read in the configured order
 * and a later format that finds a valid context replaces an earlier one. The propagator's {@code
 * fields()} name every header any configured format reads (all B3 headers, {@code X-B3-ParentSpanId}
 * included, whichever B3 form is configured), so a proxy that removes those fields before injecting
 * sends nothing stale next to the new context. Jaeger's baggage headers cannot be named that way ({@code
 * uberctx-<key>}, one per item), so with {@code jaeger} configured every one of them, and {@code
 * jaeger-baggage}, is removed when the context is injected into a {@link HeaderMap}: the baggage headers
 * that go out are exactly the current baggage, as OpenTelemetry's Jaeger propagator writes it. Headers of
 * formats not configured pass untouched.
 */
public final class Propagation {
  /** The names accepted in {@code OTEL_PROPAGATORS}. */
  public static final List<String> NAMES =
      List.of("tracecontext", "baggage", "b3", "b3multi", "jaeger", "ottrace", "none");

  /** Headers the W3C specs say to combine (RFC 7230) when they arrive as several fields. */
  private static final List<HttpString> COMBINED =
      List.of(HttpString.tryFromString("traceparent"), HttpString.tryFromString("tracestate"), HttpString.tryFromString("baggage"));

  /** Prefix of Jaeger's per-item baggage headers. */
  private static final String JAEGER_BAGGAGE_PREFIX = "uberctx-";
  /** Jaeger's header of several items, which OpenTelemetry reads but never writes. */
  private static final String JAEGER_BAGGAGE_HEADER = "jaeger-baggage";

  private static final List<String> B3_HEADERS =
      List.of("b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags");

  private final List<String> names;
  private final TextMapPropagator propagator;

  private Propagation(List<String> names, IdGenerator ids) {
    this.names = List.copyOf(names);
    List<TextMapPropagator> parts = new ArrayList<>();
    Set<String> fields = new LinkedHashSet<>();
    for (String name : new LinkedHashSet<>(names)) {
      switch (name) {
        case "tracecontext" -> parts.add(TraceContextPropagator.getInstance());
        case "baggage" -> parts.add(BaggageLimits.getInstance());
        case "b3" -> {
          parts.add(new B3SpecPropagator(B3Propagator.injectingSingleHeader(), ids));
          fields.addAll(B3_HEADERS);
        }
        case "b3multi" -> {
          parts.add(new B3SpecPropagator(B3Propagator.injectingMultiHeaders(), ids));
          fields.addAll(B3_HEADERS);
        }
        case "jaeger" -> parts.add(JaegerPropagator.getInstance());
        case "ottrace" -> parts.add(OtTracePropagator.getInstance());
        case "none" -> {}
        default -> throw new IllegalArgumentException("unknown propagator " + name);
      }
    }
    for (TextMapPropagator part : parts) {
      part.fields().forEach(f -> fields.add(f.toLowerCase(Locale.ROOT)));
    }
    this.propagator = new Owning(TextMapPropagator.composite(parts), List.copyOf(fields), names.contains("jaeger"));
  }

  /** For names out of {@link #NAMES}, the SDK default {@code tracecontext,baggage} when empty; unknown names throw. */
  public static Propagation of(List<String> names, IdGenerator ids) {
    return new Propagation(names.isEmpty() ? List.of("tracecontext", "baggage") : names, ids);
  }

  public List<String> names() {
    return names;
  }

  /** The propagator to extract and inject with. */
  public TextMapPropagator propagator() {
    return propagator;
  }

  /**
   * Joins repeated {@code traceparent}, {@code tracestate} and {@code baggage} fields into one, as RFC
   * 7230 section 3.2.2 combines them: for readers that see only a header's first field. Two {@code
   * traceparent} fields so become one invalid value, and the trace restarts, as it must.
   *
   * <p>For reading, the shared telemetry handler's getter now joins repeated fields itself, and the
   * fields of configured formats are replaced on the way out, so for them this is redundant. It is kept
   * because it also joins these fields when their format is not configured (say {@code
   * OTEL_PROPAGATORS=b3} with two {@code baggage} lines): they are forwarded as one field, and removing
   * this would forward them as separate lines instead ({@code HeaderForwardingTest} pins it).
   */
  public static void combineRepeated(HeaderMap headers) {
    for (HttpString name : COMBINED) {
      HeaderValues values = headers.get(name);
      if (values != null && values.size() > 1) {
        String joined = String.join(",", values);
        headers.put(name, joined);
      }
    }
  }

  private static void removeJaegerBaggage(HeaderMap headers) {
    List<HttpString> stale = new ArrayList<>();
    for (HttpString name : headers.getHeaderNames()) {
      String lower = name.toString().toLowerCase(Locale.ROOT);
      if (lower.startsWith(JAEGER_BAGGAGE_PREFIX) || lower.equals(JAEGER_BAGGAGE_HEADER)) {
        stale.add(name);
      }
    }
    stale.forEach(headers::remove);
  }

  /**
   * The composite, reporting as its fields every header a configured format owns, and removing Jaeger's
   * baggage headers before it injects when {@code jaeger} is configured.
   */
  private static final class Owning implements TextMapPropagator {
    private final TextMapPropagator delegate;
    private final List<String> fields;
    private final boolean jaegerBaggage;

    Owning(TextMapPropagator delegate, List<String> fields, boolean jaegerBaggage) {
      this.delegate = delegate;
      this.fields = fields;
      this.jaegerBaggage = jaegerBaggage;
    }

    @Override
    public Collection<String> fields() {
      return fields;
    }

    /**
     * A setter can only add, and {@code fields()} cannot name a prefix, so the stale {@code uberctx-*}
     * headers are removed here, on the carrier the sidecar injects into (Undertow's {@link HeaderMap}).
     * Items the baggage no longer holds (a later {@code baggage} header replaced them, say) must not go on
     * next to the new ones; those it holds are written again by the Jaeger propagator.
     */
    @Override
    public <C> void inject(Context context, C carrier, TextMapSetter<C> setter) {
      if (jaegerBaggage && carrier instanceof HeaderMap headers) {
        removeJaegerBaggage(headers);
      }
      delegate.inject(context, carrier, setter);
    }

    @Override
    public <C> Context extract(Context context, C carrier, TextMapGetter<C> getter) {
      return delegate.extract(context, carrier, getter);
    }

    @Override
    public String toString() {
      return delegate.toString();
    }
  }
}
