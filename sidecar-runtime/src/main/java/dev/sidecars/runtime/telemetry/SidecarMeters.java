package dev.sidecars.runtime.telemetry;

import dev.sidecars.runtime.http.TraceExemplars;
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.instrumentation.micrometer.v1_5.OpenTelemetryMeterRegistry;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * Where a sidecar's Micrometer meters go: recorded once through one API, shown on {@code /metrics} and
 * pushed over OTLP. Every sidecar gets one, as {@code SidecarContext.meters()}.
 *
 * <ul>
 *   <li>{@code /metrics}: a Prometheus registry that writes into the admin server's Prometheus registry
 *       (so one scrape shows everything) and carries trace-id exemplars ({@link TraceExemplars}).
 *   <li>OTLP: the OpenTelemetry Micrometer bridge, which turns each meter into an instrument of the
 *       sidecar's OpenTelemetry SDK. Chosen over Micrometer's own OTLP registry because the SDK already
 *       honours every standard variable ({@code OTEL_EXPORTER_OTLP_*} including gRPC, {@code
 *       OTEL_METRIC_EXPORT_INTERVAL}, {@code OTEL_METRICS_EXPORTER=none}), shares the resource of the
 *       traces, exports exemplars, and is flushed by the same lifecycle step as the spans.
 * </ul>
 */
public final class SidecarMeters {
  /**
   * Micrometer's defaults, except that exemplars go only where OpenMetrics 1.0 allows them: histogram
   * buckets and counter totals. Micrometer's default also puts them on {@code _count} lines, and
   * Prometheus releases still in wide use (2.42, Debian 12's) then reject the whole scrape.
   */
  public static final PrometheusConfig PROMETHEUS_CONFIG = new PrometheusConfig() {
    @Override
    public String get(String key) {
      return null;
    }

    @Override
    public Properties prometheusProperties() {
      Properties properties = new Properties();
      properties.setProperty("io.prometheus.exporter.exemplarsOnAllMetricTypes", "false");
      return properties;
    }
  };

  private SidecarMeters() {}

  /** The composite to record into; {@code adminRegistry} is what {@code /metrics} scrapes. */
  public static MeterRegistry create(PrometheusMeterRegistry adminRegistry, OpenTelemetry openTelemetry) {
    PrometheusMeterRegistry prometheus =
        new PrometheusMeterRegistry(
            PROMETHEUS_CONFIG, adminRegistry.getPrometheusRegistry(), Clock.SYSTEM, new TraceExemplars());
    MeterRegistry otlp =
        OpenTelemetryMeterRegistry.builder(openTelemetry).setBaseTimeUnit(TimeUnit.SECONDS).build();
    return new CompositeMeterRegistry(Clock.SYSTEM, List.of(prometheus, otlp));
  }
}
