package dev.sidecars.runtime.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.sidecars.runtime.config.ConfigException;
import io.opentelemetry.api.trace.Span;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Proves that the SDK built by {@link SidecarTelemetry} takes its resource from the environment the
 * way the contract says ({@code SERVICE_NAME} short form, {@code OTEL_SERVICE_NAME} winning over it,
 * the Kubernetes downward-API variables, {@code OTEL_RESOURCE_ATTRIBUTES}, the sidecar's own name and
 * version), honours the standard sampler and propagator variables, and turns a bad {@code OTEL_*}
 * value into a {@link ConfigException} naming the variable. The resource is read from what a real
 * OTLP/HTTP endpoint receives, not from the SDK's internals.
 */
class SidecarTelemetryTest {
  private static final String NAME = "metrics-proxy";
  private static final String VERSION = "1.2.3";

  private SidecarTelemetry telemetry;
  private OtlpTraceReceiver receiver;

  @AfterEach
  void shutDown() {
    if (telemetry != null) {
      telemetry.shutdown(5_000);
    }
    if (receiver != null) {
      receiver.close();
    }
  }

  /** Environment that exports nothing, so tests that only build the SDK never touch the network. */
  private static Map<String, String> quietEnv(String... nameValuePairs) {
    Map<String, String> env = new HashMap<>();
    env.put("OTEL_TRACES_EXPORTER", "none");
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_LOGS_EXPORTER", "none");
    for (int i = 0; i < nameValuePairs.length; i += 2) {
      env.put(nameValuePairs[i], nameValuePairs[i + 1]);
    }
    return env;
  }

  /** Environment whose traces go to a fresh local OTLP receiver; metrics and logs go nowhere. */
  private Map<String, String> exportingEnv(String... nameValuePairs) {
    receiver = new OtlpTraceReceiver();
    Map<String, String> env = quietEnv(nameValuePairs);
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    env.put("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    env.put("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint());
    return env;
  }

  /** Emits one span and returns the exported request as the collector receives it. */
  private byte[] exportOneSpan(String... nameValuePairs) {
    telemetry = SidecarTelemetry.create(NAME, VERSION, exportingEnv(nameValuePairs));

    telemetry.tracer().spanBuilder("probe").startSpan().end();
    // Shutdown flushes the batch processor: the same path the lifecycle's flush step takes.
    assertThat(telemetry.shutdown(10_000).isSuccess()).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> !receiver.requests().isEmpty());
    return receiver.requests().get(0);
  }

  private Map<String, String> exportedResource(String... nameValuePairs) {
    return OtlpTraceReceiver.resourceAttributes(exportOneSpan(nameValuePairs));
  }

  @Test
  void otlpHttpGoesThroughTheJdkClientWithoutTheSdkWarningAboutTwoSenders() {
    List<LogRecord> records = new CopyOnWriteArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord record) {
        records.add(record);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger sdkLogger = Logger.getLogger("io.opentelemetry");
    sdkLogger.addHandler(capture);
    try {
      assertThat(exportedResource("SERVICE_NAME", "checkout")).containsEntry("service.name", "checkout");
    } finally {
      sdkLogger.removeHandler(capture);
    }

    assertThat(records).noneSatisfy(r -> assertThat(r.getMessage()).contains("HttpSenderProvider"));
  }

  @Test
  void otlpDefaultsToHttpProtobufAsTheContractSaysNotToTheJavaSdksGrpc() {
    Map<String, String> env = exportingEnv("SERVICE_NAME", "checkout");
    env.remove("OTEL_EXPORTER_OTLP_PROTOCOL");
    telemetry = SidecarTelemetry.create(NAME, VERSION, env);

    telemetry.tracer().spanBuilder("probe").startSpan().end();
    telemetry.shutdown(10_000);

    await().atMost(Duration.ofSeconds(10)).until(() -> !receiver.requests().isEmpty());
    assertThat(OtlpTraceReceiver.resourceAttributes(receiver.requests().get(0))).containsEntry("service.name", "checkout");
  }

  @Test
  void exposesTheResourceAndConfigurationItExportsWith() {
    Map<String, String> exported = exportedResource("SERVICE_NAME", "checkout", "POD_NAME", "checkout-1",
        "OTEL_EXPORTER_OTLP_TIMEOUT", "3s");

    Map<String, String> exposed = new HashMap<>();
    telemetry.resource().getAttributes().forEach((key, value) -> exposed.put(key.getKey(), String.valueOf(value)));
    assertThat(exposed).containsAllEntriesOf(exported).containsEntry("k8s.pod.name", "checkout-1");
    assertThat(telemetry.config().getDuration("otel.exporter.otlp.timeout")).isEqualTo(Duration.ofSeconds(3));
  }

  @Test
  void serviceNameShortFormBecomesTheResourceServiceName() {
    assertThat(exportedResource("SERVICE_NAME", "checkout"))
        .containsEntry("service.name", "checkout");
  }

  @Test
  void otelServiceNameWinsOverTheShortForm() {
    assertThat(exportedResource("SERVICE_NAME", "short", "OTEL_SERVICE_NAME", "standard"))
        .containsEntry("service.name", "standard");
  }

  @Test
  void kubernetesDownwardApiVariablesBecomeResourceAttributes() {
    Map<String, String> resource =
        exportedResource(
            "SERVICE_NAME", "checkout",
            "POD_NAME", "checkout-7d9f-abcde",
            "POD_NAMESPACE", "shop",
            "NODE_NAME", "node-3");

    assertThat(resource)
        .containsEntry("k8s.pod.name", "checkout-7d9f-abcde")
        .containsEntry("k8s.namespace.name", "shop")
        .containsEntry("k8s.node.name", "node-3");
  }

  @Test
  void otelResourceAttributesAreStillHonoured() {
    Map<String, String> resource =
        exportedResource(
            "SERVICE_NAME", "checkout",
            "POD_NAME", "from-downward-api",
            "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,team=observability");

    assertThat(resource)
        .containsEntry("deployment.environment.name", "staging")
        .containsEntry("team", "observability")
        .containsEntry("k8s.pod.name", "from-downward-api");
  }

  @Test
  void theSidecarsNameAndVersionAreOnTheResourceAndTheTracerScope() {
    byte[] request = exportOneSpan("SERVICE_NAME", "checkout");

    assertThat(OtlpTraceReceiver.resourceAttributes(request))
        .containsEntry("sidecar.name", NAME)
        .containsEntry("telemetry.distro.name", "sidecar-suite")
        .containsEntry("telemetry.distro.version", VERSION)
        .as("the sidecar's name must not replace the app's service name")
        .containsEntry("service.name", "checkout");
    assertThat(OtlpTraceReceiver.scope(request)).containsExactly(NAME, VERSION);
  }

  @Test
  void theStandardSamplerVariableIsHonoured() {
    // With no exporter at all the SDK hands out invalid spans, so sampling is only visible with one.
    telemetry =
        SidecarTelemetry.create(NAME, VERSION, exportingEnv("OTEL_TRACES_SAMPLER", "always_off"));

    Span dropped = telemetry.tracer().spanBuilder("dropped").startSpan();
    dropped.end();

    assertThat(dropped.getSpanContext().isValid()).isTrue();
    assertThat(dropped.getSpanContext().isSampled()).isFalse();
  }

  @Test
  void spansAreSampledByDefault() {
    telemetry = SidecarTelemetry.create(NAME, VERSION, exportingEnv());

    Span kept = telemetry.tracer().spanBuilder("kept").startSpan();
    kept.end();

    assertThat(kept.getSpanContext().isSampled()).isTrue();
  }

  @Test
  void badSamplerIsAConfigExceptionNamingTheVariable() {
    ConfigException e =
        catchThrowableOfType(
            ConfigException.class,
            () -> SidecarTelemetry.create(NAME, VERSION, quietEnv("OTEL_TRACES_SAMPLER", "bogus")));

    assertThat(e.problems())
        .singleElement()
        .satisfies(
            line -> {
              assertThat(line).startsWith("OTEL_TRACES_SAMPLER");
              assertThat(line).contains("bogus");
              // Users set environment variables; the SDK's property spelling would not help them.
              assertThat(line).doesNotContain("otel.traces.sampler");
              assertThat(line).doesNotContain("\n");
            });
  }

  @Test
  void propagatorsDefaultToTraceContextAndBaggage() {
    telemetry = SidecarTelemetry.create(NAME, VERSION, quietEnv());

    assertThat(telemetry.propagator().fields()).contains("traceparent", "tracestate", "baggage");
  }

  @Test
  void otelPropagatorsSelectsB3() {
    telemetry = SidecarTelemetry.create(NAME, VERSION, quietEnv("OTEL_PROPAGATORS", "b3multi"));

    assertThat(telemetry.propagator().fields())
        .contains("X-B3-TraceId", "X-B3-SpanId")
        .doesNotContain("traceparent");
    assertThat(telemetry.propagation().names()).containsExactly("b3multi");
  }

  @Test
  void theSdkIsNotAskedToReadOtelPropagators() {
    telemetry = SidecarTelemetry.create(NAME, VERSION, quietEnv("OTEL_PROPAGATORS", "b3multi"));

    assertThat(telemetry.config().getList("otel.propagators")).containsExactly("none");
    assertThat(telemetry.sdk().getPropagators().getTextMapPropagator().fields()).isEmpty();
  }

  @Test
  void badOtelPropagatorsIsAConfigExceptionNamingTheVariable() {
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> SidecarTelemetry.create(NAME, VERSION, quietEnv("OTEL_PROPAGATORS", "tracecontext,xray")));

    assertThat(e.problems()).singleElement().satisfies(line -> assertThat(line).startsWith("OTEL_PROPAGATORS="));
  }

  @Test
  void variableNamesInSdkMessagesAreRewrittenToEnvironmentNames() {
    assertThat(SidecarTelemetry.toEnvironmentNames("Invalid otel.exporter.otlp.protocol: x\nsee docs"))
        .isEqualTo("OTEL_EXPORTER_OTLP_PROTOCOL: Invalid OTEL_EXPORTER_OTLP_PROTOCOL: x see docs");
    assertThat(SidecarTelemetry.toEnvironmentNames("no property here"))
        .isEqualTo("OTEL_*: no property here");
  }
}
