package dev.sidecars.runtime.propagation;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.extension.trace.propagation.B3Propagator;
import io.opentelemetry.sdk.trace.IdGenerator;
import java.util.Collection;
import java.util.Locale;

/**
 * OpenTelemetry's {@code B3Propagator} with two fixes to meet the B3 specification.
 *
 * <ul>
 *   <li>Deny without ids: a caller may send only a sampling decision, {@code b3: 0} (or {@code
 *       X-B3-Sampled: 0} without ids), meaning "do not record this request or anything below it".
 *       OpenTelemetry finds no ids and returns nothing, so the next span starts a new, sampled trace.
 *       Here the deny becomes a new remote parent that is not sampled (fresh random ids), so the
 *       parent-based sampler starts a new trace whose spans are not recorded, and the "not sampled"
 *       decision travels on in every format.
 *   <li>Debug in multi-header form: B3 says debug ({@code X-B3-Flags: 1}) implies the accept decision,
 *       so {@code X-B3-Sampled} is not sent with it; OpenTelemetry sends both. Here it is left out.
 * </ul>
 *
 * <p>Kept as OpenTelemetry does it (and as the spec asks): the single header wins over the multi
 * headers, 64-bit trace ids are left-padded to 128 bits, the parent span id is never sent, and debug
 * ({@code d}, {@code X-B3-Flags: 1}) implies sampled and travels on.
 */
final class B3SpecPropagator implements TextMapPropagator {
  private static final String FLAGS = "X-B3-Flags";
  private static final String SAMPLED = "X-B3-Sampled";

  private final TextMapPropagator b3;
  private final boolean multi;
  private final IdGenerator ids;

  private B3SpecPropagator(TextMapPropagator b3, boolean multi, IdGenerator ids) {
    this.b3 = b3;
    this.multi = multi;
    this.ids = ids;
  }

  /** {@code b3}: the single header out. */
  static B3SpecPropagator single(IdGenerator ids) {
    return new B3SpecPropagator(B3Propagator.injectingSingleHeader(), false, ids);
  }

  /** {@code b3multi}: the {@code X-B3-*} headers out. */
  static B3SpecPropagator multi(IdGenerator ids) {
    return new B3SpecPropagator(B3Propagator.injectingMultiHeaders(), true, ids);
  }

  @Override
  public Collection<String> fields() {
    return b3.fields();
  }

  @Override
  public <C> void inject(Context context, C carrier, TextMapSetter<C> setter) {
    b3.inject(context, carrier, multi ? new DebugImpliesSampled<>(setter) : setter);
  }

  @Override
  public <C> Context extract(Context context, C carrier, TextMapGetter<C> getter) {
    Context extracted = b3.extract(context, carrier, getter);
    if (Span.fromContext(extracted).getSpanContext().isValid()) {
      return extracted;
    }
    String single = getter.get(carrier, "b3");
    boolean denied;
    if (single != null) {
      denied = single.trim().equals("0");
    } else {
      String sampled = getter.get(carrier, SAMPLED);
      denied =
          sampled != null
              && getter.get(carrier, "X-B3-TraceId") == null
              && (sampled.trim().equals("0") || sampled.trim().toLowerCase(Locale.ROOT).equals("false"));
    }
    if (!denied) {
      return extracted;
    }
    SpanContext notSampled = SpanContext.createFromRemoteParent(
        ids.generateTraceId(),
        ids.generateSpanId(),
        TraceFlags.builder().setRandomTraceId(ids.generatesRandomTraceIds()).build(),
        TraceState.getDefault());
    return extracted.with(Span.wrap(notSampled));
  }

  @Override
  public String toString() {
    return "B3SpecPropagator(" + b3 + ")";
  }

  /**
   * Passes OpenTelemetry's multi headers on, except {@code X-B3-Sampled} once {@code X-B3-Flags} went
   * out: OpenTelemetry writes the flags before the ids and the sampled header (a test pins it).
   */
  private static final class DebugImpliesSampled<C> implements TextMapSetter<C> {
    private final TextMapSetter<C> setter;
    private boolean debug;

    DebugImpliesSampled(TextMapSetter<C> setter) {
      this.setter = setter;
    }

    @Override
    public void set(C carrier, String key, String value) {
      if (FLAGS.equals(key)) {
        debug = true;
      } else if (debug && SAMPLED.equals(key)) {
        return;
      }
      setter.set(carrier, key, value);
    }
  }
}
