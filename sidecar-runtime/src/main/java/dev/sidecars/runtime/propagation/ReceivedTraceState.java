package dev.sidecars.runtime.propagation;

import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.TraceStateBuilder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * A {@code tracestate} as {@link TraceStateHeader} lets it go on: the header text itself, which {@link
 * TraceContextPropagator} sends as it is. OpenTelemetry's own {@code TraceState} re-checks keys with the
 * Level 1 grammar and would drop members Level 2 allows; this sidecar never adds a member of its own, so
 * it carries the text and splits it into members only when something asks for them (a sampler).
 */
final class ReceivedTraceState implements TraceState {
  private final String header;
  /** Split on first use; volatile so a span read on another thread sees a complete map. */
  private volatile Map<String, String> members;

  /** @param header a non-empty list as {@link TraceStateHeader#forwarded} returns it */
  ReceivedTraceState(String header) {
    this.header = header;
  }

  /** The text to send. */
  String header() {
    return header;
  }

  private Map<String, String> members() {
    Map<String, String> parsed = members;
    if (parsed == null) {
      parsed = new LinkedHashMap<>();
      for (String member : header.split(",")) {
        int eq = member.indexOf('=');
        parsed.put(member.substring(0, eq), member.substring(eq + 1));
      }
      members = parsed = Collections.unmodifiableMap(parsed);
    }
    return parsed;
  }

  @Override
  public String get(String key) {
    return members().get(key);
  }

  @Override
  public int size() {
    return members().size();
  }

  @Override
  public boolean isEmpty() {
    return false;
  }

  @Override
  public void forEach(BiConsumer<String, String> consumer) {
    members().forEach(consumer);
  }

  @Override
  public Map<String, String> asMap() {
    return members();
  }

  /**
   * Only a sampler that edits the trace state gets here; OpenTelemetry's builder then applies its own
   * (older) key rules to the members it keeps.
   */
  @Override
  public TraceStateBuilder toBuilder() {
    TraceStateBuilder builder = TraceState.builder();
    Object[] entries = members().entrySet().toArray();
    for (int i = entries.length - 1; i >= 0; i--) {
      @SuppressWarnings("unchecked")
      Map.Entry<String, String> e = (Map.Entry<String, String>) entries[i];
      builder.put(e.getKey(), e.getValue());
    }
    return builder;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TraceState other && members().equals(other.asMap());
  }

  @Override
  public int hashCode() {
    return members().hashCode();
  }

  @Override
  public String toString() {
    return "ReceivedTraceState{" + header + "}";
  }
}
