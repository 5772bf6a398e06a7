package dev.sidecars.collector;

import java.util.Locale;
import java.util.Optional;

/** The three OTLP signals, named as in their HTTP paths. */
public enum Signal {
  TRACES,
  METRICS,
  LOGS;

  public String pathName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The OTLP/HTTP path, e.g. {@code /v1/traces}. */
  public String httpPath() {
    return "/v1/" + pathName();
  }

  public static Optional<Signal> fromPathName(String name) {
    for (Signal s : values()) {
      if (s.pathName().equals(name)) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }
}
