package dev.sidecars.traceinjector.propagation;

import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.TraceStateBuilder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * A {@code tracestate} exactly as received and validated by {@link TraceStateHeader}: order and members
 * kept, no second validation. OpenTelemetry's own {@code TraceState} builder re-checks keys with the
 * older grammar and would silently drop members the current spec allows, so this sidecar, which never
 * adds a member of its own, carries the list as is; {@code W3CTraceContextPropagator} writes it back out
 * with {@link #forEach}.
 */
final class ReceivedTraceState implements TraceState {
  private final Map<String, String> members;

  ReceivedTraceState(Map<String, String> members) {
    this.members = Collections.unmodifiableMap(new LinkedHashMap<>(members));
  }

  @Override
  public String get(String key) {
    return members.get(key);
  }

  @Override
  public int size() {
    return members.size();
  }

  @Override
  public boolean isEmpty() {
    return members.isEmpty();
  }

  @Override
  public void forEach(BiConsumer<String, String> consumer) {
    members.forEach(consumer);
  }

  @Override
  public Map<String, String> asMap() {
    return members;
  }

  /**
   * Only a sampler that edits the trace state gets here; OpenTelemetry's builder then applies its own
   * (older) key rules to the members it keeps.
   */
  @Override
  public TraceStateBuilder toBuilder() {
    TraceStateBuilder builder = TraceState.builder();
    Object[] entries = members.entrySet().toArray();
    for (int i = entries.length - 1; i >= 0; i--) {
      @SuppressWarnings("unchecked")
      Map.Entry<String, String> e = (Map.Entry<String, String>) entries[i];
      builder.put(e.getKey(), e.getValue());
    }
    return builder;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TraceState other && members.equals(other.asMap());
  }

  @Override
  public int hashCode() {
    return members.hashCode();
  }

  @Override
  public String toString() {
    return "ReceivedTraceState" + members;
  }
}
