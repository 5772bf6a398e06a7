package dev.sidecars.runtime;

import dev.sidecars.runtime.lifecycle.Lifecycle;
import dev.sidecars.runtime.telemetry.SidecarMeters;
import dev.sidecars.runtime.telemetry.SidecarTelemetry;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * What the runtime hands a sidecar at start: its telemetry, the registry its {@code /metrics} shows, the
 * meters to record into (shown there and pushed over OTLP, see {@link SidecarMeters}), its lifecycle,
 * and the address to bind.
 */
public record SidecarContext(
    String name,
    String version,
    SidecarTelemetry telemetry,
    PrometheusMeterRegistry registry,
    MeterRegistry meters,
    Lifecycle lifecycle,
    String bindAddress) {}
