package dev.sidecars.runtime.propagation;

import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.List;

/**
 * Hands an OpenTelemetry propagator one value, already combined and checked here, as the only field of
 * one name: the carrier is the value itself.
 */
final class OneField implements TextMapGetter<String> {
  private final String name;
  private final List<String> names;

  OneField(String name) {
    this.name = name;
    this.names = List.of(name);
  }

  @Override
  public Iterable<String> keys(String value) {
    return names;
  }

  @Override
  public String get(String value, String key) {
    return name.equals(key) ? value : null;
  }
}
