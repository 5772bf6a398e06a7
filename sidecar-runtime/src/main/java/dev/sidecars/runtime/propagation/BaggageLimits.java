package dev.sidecars.runtime.propagation;

import io.opentelemetry.api.baggage.Baggage;
import io.opentelemetry.api.baggage.BaggageBuilder;
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.nio.charset.StandardCharsets;
import java.util.Collection;

/**
 * W3C Baggage through OpenTelemetry's {@link W3CBaggagePropagator}, with the spec's limits applied the
 * spec's way first. The spec asks to propagate at least 64 list-members and 8192 bytes and, beyond that,
 * to drop whole list-members until the limits are met. OpenTelemetry drops a whole header field (and
 * every later one) once the running length passes 8192 bytes, so one large header loses all of its
 * baggage. Here the combined value (the getter combines repeated fields, RFC 9110) is cut after the last
 * whole member that fits in 64 members and 8192 bytes before OpenTelemetry parses it; a value within the
 * limits is handed over as it is.
 *
 * <p>Not kept: the order of members (OpenTelemetry's {@code Baggage} is keyed, and the spec gives the
 * order no meaning) and optional whitespace.
 */
final class BaggageLimits implements TextMapPropagator {
  /** Members the spec requires to be propagated, and the most this sidecar sends. */
  static final int MAX_MEMBERS = 64;
  /** Bytes the spec requires to be propagated, and the most this sidecar sends. */
  static final int MAX_BYTES = 8192;

  private static final String BAGGAGE = "baggage";
  static final BaggageLimits INSTANCE = new BaggageLimits();
  private static final OneField BAGGAGE_ONLY = new OneField(BAGGAGE);
  private final W3CBaggagePropagator delegate = W3CBaggagePropagator.getInstance();

  private BaggageLimits() {}

  @Override
  public Collection<String> fields() {
    return delegate.fields();
  }

  /**
   * Writes the baggage, leaving out entries whose key is not a token: W3C keys are tokens, but Jaeger's
   * and OT's formats read keys that need not be ({@code jaeger-baggage: a/b=1}), and OpenTelemetry would
   * write them into a header whose members must be.
   */
  @Override
  public <C> void inject(Context context, C carrier, TextMapSetter<C> setter) {
    Baggage baggage = Baggage.fromContext(context);
    boolean[] bad = new boolean[1];
    baggage.forEach((key, entry) -> bad[0] |= !HeaderSyntax.isToken(key));
    if (!bad[0]) {
      delegate.inject(context, carrier, setter);
      return;
    }
    BaggageBuilder kept = Baggage.builder();
    baggage.forEach((key, entry) -> {
      if (HeaderSyntax.isToken(key)) {
        kept.put(key, entry.getValue(), entry.getMetadata());
      }
    });
    delegate.inject(context.with(kept.build()), carrier, setter);
  }

  @Override
  public <C> Context extract(Context context, C carrier, TextMapGetter<C> getter) {
    String value = getter.get(carrier, BAGGAGE);
    if (value == null) {
      return context;
    }
    return delegate.extract(context, withinLimits(value) ? value : limit(value), BAGGAGE_ONLY);
  }

  /** Whether the value surely has at most 64 members and 8192 bytes; allocates nothing. */
  private static boolean withinLimits(String value) {
    int commas = 0;
    int bytes = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      commas += c == ',' ? 1 : 0;
      bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    }
    return commas < MAX_MEMBERS && bytes <= MAX_BYTES;
  }

  /** Whole members, in order, while both limits hold. Commas only ever separate members. */
  static String limit(String value) {
    StringBuilder out = new StringBuilder();
    int members = 0;
    int bytes = 0;
    for (String member : value.split(",", -1)) {
      String trimmed = member.strip();
      if (trimmed.isEmpty()) {
        continue;
      }
      int size = trimmed.getBytes(StandardCharsets.UTF_8).length + (members == 0 ? 0 : 1);
      if (members + 1 > MAX_MEMBERS || bytes + size > MAX_BYTES) {
        break;
      }
      if (members > 0) {
        out.append(',');
      }
      out.append(trimmed);
      members++;
      bytes += size;
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return "BaggageLimits(W3C baggage)";
  }
}
