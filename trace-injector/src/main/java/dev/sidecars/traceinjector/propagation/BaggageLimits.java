package dev.sidecars.traceinjector.propagation;

import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;

/**
 * W3C Baggage through OpenTelemetry's {@link W3CBaggagePropagator}, with the spec's limits applied the
 * spec's way first. The spec asks to propagate at least 64 list-members and 8192 bytes and, beyond that,
 * to drop whole list-members until the limits are met. OpenTelemetry drops a whole header field (and
 * every later one) once the running length passes 8192 bytes, so one large header loses all of its
 * baggage. Here the fields are combined (RFC 7230) and cut after the last whole member that fits in 64
 * members and 8192 bytes before OpenTelemetry parses them.
 *
 * <p>Not kept: the order of members (OpenTelemetry's {@code Baggage} is keyed, and the spec gives the
 * order no meaning) and optional whitespace.
 */
public final class BaggageLimits implements TextMapPropagator {
  /** Members the spec requires to be propagated, and the most this sidecar sends. */
  public static final int MAX_MEMBERS = 64;
  /** Bytes the spec requires to be propagated, and the most this sidecar sends. */
  public static final int MAX_BYTES = 8192;

  private static final String BAGGAGE = "baggage";
  private static final BaggageLimits INSTANCE = new BaggageLimits();
  private final W3CBaggagePropagator delegate = W3CBaggagePropagator.getInstance();

  private BaggageLimits() {}

  public static BaggageLimits getInstance() {
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
    List<String> fields = TraceContextPropagator.all(getter, carrier, BAGGAGE);
    if (fields.isEmpty()) {
      return context;
    }
    String limited = limit(fields);
    return delegate.extract(context, limited, new TextMapGetter<String>() {
      @Override
      public Iterable<String> keys(String value) {
        return List.of(BAGGAGE);
      }

      @Override
      public String get(String value, String key) {
        return BAGGAGE.equals(key) ? value : null;
      }
    });
  }

  /** Whole members, in order, while both limits hold. Commas only ever separate members. */
  static String limit(List<String> fields) {
    StringBuilder out = new StringBuilder();
    int members = 0;
    int bytes = 0;
    for (String field : fields) {
      for (String member : field.split(",", -1)) {
        String trimmed = member.strip();
        if (trimmed.isEmpty()) {
          continue;
        }
        int size = trimmed.getBytes(StandardCharsets.UTF_8).length + (members == 0 ? 0 : 1);
        if (members + 1 > MAX_MEMBERS || bytes + size > MAX_BYTES) {
          return out.toString();
        }
        if (members > 0) {
          out.append(',');
        }
        out.append(trimmed);
        members++;
        bytes += size;
      }
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return "BaggageLimits(W3C baggage)";
  }
}
