package dev.sidecars.collector.junit5;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.Signal;
import dev.sidecars.collector.store.Received;
import dev.sidecars.runtime.telemetry.SidecarTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.proto.common.v1.KeyValue;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The extension gives tests a live collector and waits on what arrives; here the client is the sidecar
 * runtime's own SDK set-up, so this also proves that a sidecar's telemetry reaches a collector with the
 * resource the contract promises.
 */
class CollectorStubExtensionTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension();

  private static SidecarTelemetry telemetry(Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(collector.otelEnvironment());
    env.putAll(extra);
    return SidecarTelemetry.create("test-sidecar", "9.9.9", env);
  }

  @Test
  void sidecarSpansArriveWithServiceKubernetesAndSidecarResourceAttributes() {
    try (SidecarTelemetry telemetry = telemetry(Map.of(
        "SERVICE_NAME", "payment", "POD_NAME", "payment-7d9f", "POD_NAMESPACE", "shop", "NODE_NAME", "node-1",
        "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test"))) {
      Span span = telemetry.tracer().spanBuilder("GET /pay").startSpan();
      span.setAttribute(AttributeKey.longKey("http.response.status_code"), 200L);
      span.end();

      List<Received<io.opentelemetry.proto.trace.v1.Span>> spans = collector.awaitSpans("payment", 1);
      Map<String, String> resource = spans.get(0).resource().getAttributesList().stream()
          .collect(Collectors.toMap(KeyValue::getKey, kv -> kv.getValue().getStringValue()));
      assertThat(resource).containsEntry("service.name", "payment")
          .containsEntry("k8s.pod.name", "payment-7d9f")
          .containsEntry("k8s.namespace.name", "shop")
          .containsEntry("k8s.node.name", "node-1")
          .containsEntry("deployment.environment.name", "test")
          .containsEntry("sidecar.name", "test-sidecar")
          .containsEntry("telemetry.distro.version", "9.9.9");
      assertThat(spans.get(0).scope().getName()).isEqualTo("test-sidecar");
      assertThat(spans.get(0).scope().getVersion()).isEqualTo("9.9.9");
    }
  }

  @Test
  void theStoreIsEmptiedBetweenTests() {
    assertThat(collector.spans(null)).isEmpty();
    assertThat(collector.stub().faults().list()).isEmpty();
  }

  @Test
  void aThrottledSidecarExporterRetriesAndDelivers() {
    collector.throttle(Signal.TRACES, 503, 1, 1);
    try (SidecarTelemetry telemetry = telemetry(Map.of("SERVICE_NAME", "throttled"))) {
      telemetry.tracer().spanBuilder("work").startSpan().end();
      assertThat(collector.awaitSpans("throttled", 1)).hasSize(1);
    }
    assertThat(collector.stats().rejected()).isEqualTo(1);
  }

  @Test
  void waitsCoverLogsAndMetricsToo() {
    try (SidecarTelemetry telemetry = telemetry(Map.of("SERVICE_NAME", "meters"))) {
      telemetry.openTelemetry().getMeter("m").counterBuilder("jobs").build().add(3);
      telemetry.openTelemetry().getLogsBridge().get("l").logRecordBuilder().setBody("hello").emit();
      assertThat(collector.awaitMetric("meters", "jobs").get(0).item().getSum().getDataPoints(0).getAsInt()).isEqualTo(3);
      assertThat(collector.awaitLogs("meters", 1).get(0).item().getBody().getStringValue()).isEqualTo("hello");
    }
  }

  @Test
  void sidecarsCanExportOverGrpcToo() {
    try (SidecarTelemetry telemetry = telemetry(Map.of("SERVICE_NAME", "over-grpc",
        "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT", collector.otlpGrpcUrl()))) {
      telemetry.tracer().spanBuilder("work").startSpan().end();
      assertThat(collector.awaitSpans("over-grpc", 1)).hasSize(1);
    }
  }
}
