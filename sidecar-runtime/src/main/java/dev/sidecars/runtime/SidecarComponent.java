package dev.sidecars.runtime;

import dev.sidecars.runtime.admin.Readiness;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/** A running sidecar as the runtime sees it: its ports, its readiness, and how it drains. */
public interface SidecarComponent {
  /** The ports it listens on, by name, in the order the start line prints them. */
  Map<String, Integer> ports();

  /** Whether it can do its job now; the runtime adds "stopping" on top. */
  Readiness readiness();

  /** Stops taking new work and finishes what is in flight, within {@code budget}. */
  void drain(Duration budget) throws Exception;

  /** Releases what is left once telemetry has been flushed. */
  void close() throws Exception;

  /**
   * The OTLP signals ({@code traces}, {@code metrics}, {@code logs}) the component sends itself, besides what
   * the SDK exports: the log-forwarder ships the lines it reads as logs, whatever {@code OTEL_LOGS_EXPORTER}
   * says. The start line names where they go.
   */
  default Set<String> otlpSignals() {
    return Set.of();
  }
}
