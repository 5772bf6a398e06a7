package dev.sidecars.runtime;

import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.propagation.Propagation;
import java.time.Duration;
import java.util.List;

/**
 * The variables the runtime reads for every sidecar before the sidecar's own (the OpenTelemetry ones
 * aside, which {@link dev.sidecars.runtime.telemetry.SidecarTelemetry} hands to the SDK, except {@code
 * OTEL_PROPAGATORS}, read here once for the sidecar's own {@link Propagation}).
 *
 * @param logLevel {@code LOG_LEVEL}: the sidecar's own log level
 * @param adminPort {@code ADMIN_PORT}: {@code /metrics}, {@code /healthz}, {@code /readyz}, {@code /shutdown}
 * @param shutdownGrace {@code SHUTDOWN_GRACE}: how long a whole stop may take
 * @param bindAddress {@code BIND_ADDRESS}: the address every listener binds
 * @param propagators {@code OTEL_PROPAGATORS}: the trace-context formats a proxy hop reads and writes
 */
public record SidecarSettings(
    String logLevel, int adminPort, Duration shutdownGrace, String bindAddress, List<String> propagators) {

  /** Reads the shared variables; problems go to {@code settings}, reported with the sidecar's own. */
  public static SidecarSettings from(Settings settings, int defaultAdminPort) {
    return new SidecarSettings(
        settings.oneOf("LOG_LEVEL", "info", ConsoleLogging.LEVELS),
        settings.port("ADMIN_PORT", defaultAdminPort),
        settings.duration("SHUTDOWN_GRACE", Duration.ofSeconds(20)),
        settings.string("BIND_ADDRESS", "0.0.0.0"),
        Propagation.names(settings));
  }
}
