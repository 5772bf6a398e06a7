package dev.sidecars.runtime.propagation;

import dev.sidecars.runtime.config.Settings;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.extension.trace.propagation.OtTracePropagator;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The trace-context formats of {@code OTEL_PROPAGATORS}, read from and written to the headers of a
 * request a proxy passes on: one implementation for every proxy hop. OpenTelemetry's propagators do the
 * parsing and writing; where they fall short of the specifications they are wrapped ({@code
 * TraceContextPropagator}, {@code BaggageLimits}, {@code B3SpecPropagator}, {@code JaegerSpecPropagator}).
 *
 * <p>A hop {@linkplain #extract reads} the context (formats in the configured order, a later format that
 * finds a different valid context replacing an earlier one, as OpenTelemetry's composite does), starts its span,
 * makes sure the span has a context of its own ({@link #hop}), and {@linkplain #inject writes} it in
 * place of every header a configured format owns. Headers of formats not configured pass untouched,
 * except that repeated {@code traceparent}, {@code tracestate} and {@code baggage} lines are joined into
 * one, which means the same (RFC 9110 section 5.3) to any reader and helps those that read one line.
 */
public final class Propagation {
  /** The variable that names the formats. */
  public static final String VARIABLE = "OTEL_PROPAGATORS";
  /** The names accepted in {@code OTEL_PROPAGATORS}, as the OpenTelemetry SDK accepts them. */
  public static final List<String> NAMES =
      List.of("tracecontext", "baggage", "b3", "b3multi", "jaeger", "ottrace", "none");
  /** The SDK's default. */
  public static final List<String> DEFAULT = List.of("tracecontext", "baggage");

  /** Headers the W3C specs say to combine when they arrive as several lines. */
  private static final List<AsciiString> COMBINED_ASCII = List.of(
      AsciiString.cached(TraceContextPropagator.TRACEPARENT),
      AsciiString.cached(TraceContextPropagator.TRACESTATE),
      AsciiString.cached("baggage"));
  /** Every B3 header, whichever B3 form is configured: none of them may go on stale. */
  private static final List<String> B3_HEADERS =
      List.of("b3", "X-B3-TraceId", "X-B3-SpanId", "X-B3-ParentSpanId", "X-B3-Sampled", "X-B3-Flags");
  /** Prefix of Jaeger's per-item baggage headers. */
  private static final String JAEGER_BAGGAGE_PREFIX = "uberctx-";
  /** Jaeger's header of several items, which OpenTelemetry reads but never writes. */
  private static final String JAEGER_BAGGAGE_HEADER = "jaeger-baggage";

  private final List<String> names;
  private final IdGenerator ids;
  private final TextMapPropagator propagator;
  private final boolean jaegerBaggage;
  /** The headers the configured formats own, as Netty's names (the proxies' data plane). */
  private final List<AsciiString> ownedNames;
  private final Map<String, AsciiString> asciiNames = new HashMap<>();
  private final TextMapSetter<HttpHeaders> nettySetter = this::set;

  private Propagation(List<String> names, IdGenerator ids) {
    this.names = List.copyOf(names);
    this.ids = ids;
    List<TextMapPropagator> parts = new ArrayList<>();
    Set<String> fields = new LinkedHashSet<>();
    for (String name : new LinkedHashSet<>(names)) {
      switch (name) {
        case "tracecontext" -> parts.add(TraceContextPropagator.INSTANCE);
        case "baggage" -> parts.add(BaggageLimits.INSTANCE);
        case "b3" -> {
          parts.add(B3SpecPropagator.single(ids));
          fields.addAll(B3_HEADERS);
        }
        case "b3multi" -> {
          parts.add(B3SpecPropagator.multi(ids));
          fields.addAll(B3_HEADERS);
        }
        case "jaeger" -> parts.add(JaegerSpecPropagator.INSTANCE);
        case "ottrace" -> parts.add(OtTracePropagator.getInstance());
        case "none" -> {}
        default -> throw new IllegalArgumentException("unknown propagator " + name);
      }
    }
    parts.forEach(part -> fields.addAll(part.fields()));
    this.propagator = new Composite(parts, List.copyOf(fields));
    List<AsciiString> ascii = new ArrayList<>();
    for (String field : fields) {
      AsciiString name = AsciiString.cached(field);
      if (!ascii.contains(name)) {
        ascii.add(name);
      }
      asciiNames.put(field, name);
    }
    this.ownedNames = List.copyOf(ascii);
    this.jaegerBaggage = names.contains("jaeger");
  }

  /**
   * Reads {@code OTEL_PROPAGATORS} (names out of {@link #NAMES}, case-insensitive, {@link #DEFAULT} when
   * unset), reporting a bad value to {@code settings} as the SDK would have refused it.
   */
  public static List<String> names(Settings settings) {
    List<String> names = settings.list(VARIABLE).stream().map(s -> s.toLowerCase(Locale.ROOT)).distinct().toList();
    String value = String.join(",", names);
    if (!NAMES.containsAll(names)) {
      settings.problem(VARIABLE, value, "names out of " + String.join(", ", NAMES));
      return DEFAULT;
    }
    if (names.contains("none") && names.size() > 1) {
      settings.problem(VARIABLE, value, "none alone, or names out of " + String.join(", ", NAMES));
      return DEFAULT;
    }
    return names.isEmpty() ? DEFAULT : names;
  }

  /** The formats {@code names} (out of {@link #NAMES}), with the SDK's random ids where a hop needs new ones. */
  public static Propagation of(List<String> names) {
    return of(names, IdGenerator.random());
  }

  static Propagation of(List<String> names, IdGenerator ids) {
    return new Propagation(names.isEmpty() ? DEFAULT : names, ids);
  }

  public List<String> names() {
    return names;
  }

  /**
   * The configured formats as one propagator, for carriers other than a request's headers; its {@code
   * fields()} name every header a configured format reads.
   */
  public TextMapPropagator propagator() {
    return propagator;
  }

  /**
   * The context the request's headers carry (HTTP/1.1 and HTTP/2 requests alike), in any configured format;
   * the root context when none.
   */
  public Context extract(HttpHeaders headers) {
    for (int i = 0; i < COMBINED_ASCII.size(); i++) {
      AsciiString name = COMBINED_ASCII.get(i);
      List<String> values = headers.getAll(name);
      if (values.size() > 1) {
        headers.set(name, String.join(",", values));
      }
    }
    return propagator.extract(Context.root(), headers, NettyGetter.INSTANCE);
  }

  /**
   * The span the next hop is to see as its parent: {@code span} when it has a context of its own.
   * With no span processor (say {@code OTEL_TRACES_EXPORTER=none}) the SDK hands out a no-op tracer,
   * whose span is the parent itself, or nothing when there is none: the hop would send the caller's
   * parent id on, or no {@code traceparent} at all. Such a span is replaced by a non-recording one with
   * a new span id, and a new trace id when there was no parent; the flags keep the parent's sampled and
   * Level 2 random-trace-id bits, and a new trace (which nobody records) is not sampled, its id random.
   */
  public Span hop(Span span, Context parent) {
    SpanContext own = span.getSpanContext();
    SpanContext from = Span.fromContext(parent).getSpanContext();
    if (own.isValid() && !(from.isValid() && own.getSpanId().equals(from.getSpanId()))) {
      return span;
    }
    if (from.isValid()) {
      TraceFlags flags = TraceFlags.builder()
          .setSampled(from.isSampled())
          .setRandomTraceId(from.getTraceFlags().isTraceIdRandom())
          .build();
      return Span.wrap(SpanContext.create(from.getTraceId(), ids.generateSpanId(), flags, from.getTraceState()));
    }
    TraceFlags fresh = TraceFlags.builder().setRandomTraceId(ids.generatesRandomTraceIds()).build();
    return Span.wrap(SpanContext.create(ids.generateTraceId(), ids.generateSpanId(), fresh, TraceState.getDefault()));
  }

  /**
   * Replaces the trace headers of {@code headers} with {@code context}: every header a configured format
   * owns is removed, then the context is written in every configured format. With {@code jaeger}, every
   * {@code uberctx-*} header and {@code jaeger-baggage} is removed too (they cannot be named in {@code
   * fields()}): the Jaeger baggage headers that go out are exactly the current baggage, so an item a
   * later format replaced (with {@code jaeger,baggage} a {@code baggage} header wins) is not sent stale.
   */
  public void inject(Context context, HttpHeaders headers) {
    for (int i = 0; i < ownedNames.size(); i++) {
      headers.remove(ownedNames.get(i));
    }
    if (jaegerBaggage) {
      List<String> stale = null;
      for (String name : headers.names()) {
        if (isJaegerBaggage(name)) {
          if (stale == null) {
            stale = new ArrayList<>();
          }
          stale.add(name);
        }
      }
      if (stale != null) {
        stale.forEach(headers::remove);
      }
    }
    propagator.inject(context, headers, nettySetter);
  }

  private void set(HttpHeaders headers, String name, String value) {
    AsciiString header = asciiNames.get(name);
    if (header == null) {
      // A name made from a baggage key (uberctx-<key>, ot-baggage-<key>): the key and the value came from
      // another format and may not fit a header; such an item is not sent rather than sent broken.
      if (!HeaderSyntax.isToken(name) || !HeaderSyntax.isFieldValue(value)) {
        return;
      }
      // A line the request already has keeps its name as sent (as Undertow's headers do).
      for (String present : headers.names()) {
        if (present.equalsIgnoreCase(name)) {
          headers.set(present, value);
          return;
        }
      }
      headers.set(name, value);
      return;
    }
    headers.set(header, value);
  }

  private static boolean isJaegerBaggage(String name) {
    return name.regionMatches(true, 0, JAEGER_BAGGAGE_PREFIX, 0, JAEGER_BAGGAGE_PREFIX.length())
        || name.equalsIgnoreCase(JAEGER_BAGGAGE_HEADER);
  }

  @Override
  public String toString() {
    return "Propagation" + names;
  }

  /**
   * OpenTelemetry's composite, except that a later format finding the very context an earlier one found
   * (same trace and span id: the previous hop wrote both) does not replace it. The earlier may carry
   * more than the later can: W3C's {@code tracestate} and random-trace-id flag are lost if B3 or Jaeger,
   * read after it, put their copy of the same ids in its place.
   */
  private static final class Composite implements TextMapPropagator {
    private final List<TextMapPropagator> parts;
    private final List<String> fields;

    Composite(List<TextMapPropagator> parts, List<String> fields) {
      this.parts = List.copyOf(parts);
      this.fields = fields;
    }

    @Override
    public List<String> fields() {
      return fields;
    }

    @Override
    public <C> void inject(Context context, C carrier, TextMapSetter<C> setter) {
      for (int i = 0; i < parts.size(); i++) {
        parts.get(i).inject(context, carrier, setter);
      }
    }

    @Override
    public <C> Context extract(Context context, C carrier, TextMapGetter<C> getter) {
      for (int i = 0; i < parts.size(); i++) {
        Span before = Span.fromContext(context);
        context = parts.get(i).extract(context, carrier, getter);
        Span after = Span.fromContext(context);
        if (after != before && sameIds(before.getSpanContext(), after.getSpanContext())) {
          context = context.with(before);
        }
      }
      return context;
    }

    private static boolean sameIds(SpanContext a, SpanContext b) {
      return a.isValid() && a.getSpanId().equals(b.getSpanId()) && a.getTraceId().equals(b.getTraceId());
    }

    @Override
    public String toString() {
      return "Composite" + parts;
    }
  }

  /**
   * Reads Netty's headers; repeated lines come back joined with commas, as HTTP says they mean, so a
   * repeated single-valued header (two {@code traceparent} lines, two {@code X-B3-TraceId}) is invalid
   * and restarts the trace, as it must.
   */
  private enum NettyGetter implements TextMapGetter<HttpHeaders> {
    INSTANCE;

    @Override
    public Iterable<String> keys(HttpHeaders carrier) {
      return carrier.names();
    }

    @Override
    public String get(HttpHeaders carrier, String key) {
      if (carrier == null) {
        return null;
      }
      String first = carrier.get(key);
      if (first == null) {
        return null;
      }
      // Repeated lines in the order they came (the value iterator gives the latest first).
      List<String> values = carrier.getAll(key);
      return values.size() == 1 ? first : String.join(",", values);
    }
  }
}
