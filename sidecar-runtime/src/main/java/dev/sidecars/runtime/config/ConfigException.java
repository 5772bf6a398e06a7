package dev.sidecars.runtime.config;

import java.util.List;

/** Every problem found in a component's configuration, one line each, each naming its variable. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  /** One line per bad variable, e.g. {@code OTLP_HTTP_PORT="x": expected a port number 0-65535}. */
  public List<String> problems() {
    return problems;
  }
}
