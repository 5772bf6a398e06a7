package dev.sidecars.runtime.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Where OTLP goes, as the SDK resolves it from the variables, and how the start line says it. */
class OtlpDestinationsTest {
  private static OtlpDestinations of(Map<String, String> properties) {
    return OtlpDestinations.from(DefaultConfigProperties.createFromMap(properties));
  }

  private static final Map<String, String> HTTP = Map.of("otel.exporter.otlp.protocol", "http/protobuf");

  @Test
  void theDefaultIsLocalhost4318OverHttpForEverySignal() {
    OtlpDestinations d = of(HTTP);

    assertThat(d.of("traces").endpoint()).isEqualTo("http://localhost:4318/v1/traces");
    assertThat(d.of("logs").endpoint()).isEqualTo("http://localhost:4318/v1/logs");
    assertThat(d.exported()).containsExactly("traces", "metrics", "logs");
    assertThat(d.describe(d.exported())).isEqualTo("sending OTLP to http://localhost:4318 (http/protobuf)");
  }

  @Test
  void oneBaseEndpointGetsEachSignalsPathAppended() {
    OtlpDestinations d = of(Map.of("otel.exporter.otlp.protocol", "http/protobuf",
        "otel.exporter.otlp.endpoint", "http://collector:4318/"));

    assertThat(d.of("metrics").endpoint()).isEqualTo("http://collector:4318/v1/metrics");
    assertThat(d.describe(d.exported())).isEqualTo("sending OTLP to http://collector:4318 (http/protobuf)");
  }

  @Test
  void aSignalsOwnEndpointIsUsedAsItIsAndListedApart() {
    OtlpDestinations d = of(Map.of("otel.exporter.otlp.protocol", "http/protobuf",
        "otel.exporter.otlp.endpoint", "http://collector:4318",
        "otel.exporter.otlp.traces.endpoint", "http://tempo:4318/otlp/traces"));

    assertThat(d.of("traces").endpoint()).isEqualTo("http://tempo:4318/otlp/traces");
    assertThat(d.describe(d.exported())).isEqualTo("sending OTLP traces to http://tempo:4318/otlp/traces, "
        + "metrics to http://collector:4318/v1/metrics, logs to http://collector:4318/v1/logs (http/protobuf)");
  }

  @Test
  void grpcEndpointsAreTheBaseItself() {
    OtlpDestinations d = of(Map.of("otel.exporter.otlp.protocol", "grpc",
        "otel.exporter.otlp.endpoint", "http://collector:4317"));

    assertThat(d.of("logs").endpoint()).isEqualTo("http://collector:4317");
    assertThat(d.describe(d.exported())).isEqualTo("sending OTLP to http://collector:4317 (grpc)");
  }

  @Test
  void signalsNotExportedAreLeftOut() {
    OtlpDestinations d = of(Map.of("otel.exporter.otlp.protocol", "http/protobuf",
        "otel.metrics.exporter", "none", "otel.logs.exporter", "none", "otel.traces.exporter", "none"));

    assertThat(d.exported()).isEmpty();
    assertThat(d.describe(d.exported())).startsWith("sending no OTLP");
    // The log-forwarder ships the lines it reads as logs whatever OTEL_LOGS_EXPORTER says.
    assertThat(d.describe(Set.of("logs"))).isEqualTo("sending OTLP logs to http://localhost:4318 (http/protobuf)");
  }
}
