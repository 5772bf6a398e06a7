package dev.sidecars.runtime;

import dev.sidecars.runtime.lifecycle.Lifecycle;
import dev.sidecars.runtime.telemetry.SidecarTelemetry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * What the runtime hands a sidecar at start: its telemetry, the registry its {@code /metrics} shows, its
 * lifecycle, and the address to bind.
 */
public record SidecarContext(
    String name,
    String version,
    SidecarTelemetry telemetry,
    PrometheusMeterRegistry registry,
    Lifecycle lifecycle,
    String bindAddress) {}
