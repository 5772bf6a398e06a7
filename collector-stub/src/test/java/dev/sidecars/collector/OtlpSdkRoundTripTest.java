package dev.sidecars.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.logs.OtlpGrpcLogRecordExporter;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import io.opentelemetry.sdk.logs.export.SimpleLogRecordProcessor;
import io.opentelemetry.sdk.metrics.Aggregation;
import io.opentelemetry.sdk.metrics.InstrumentSelector;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.View;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The OpenTelemetry Java SDK's own OTLP exporters, over http/protobuf and gRPC, send all three signals;
 * the store and the query API give back exactly what was sent.
 */
class OtlpSdkRoundTripTest {
  private static final Resource RESOURCE = Resource.getDefault().merge(Resource.create(Attributes.of(
      AttributeKey.stringKey("service.name"), "round-trip", AttributeKey.stringKey("deployment.environment"), "test")));
  private static CollectorStub stub;

  @BeforeAll
  static void start() {
    stub = CollectorStub.start(CollectorStubConfig.builder().freePorts().build());
  }

  @AfterAll
  static void stop() {
    stub.close();
  }

  @BeforeEach
  void empty() {
    stub.reset();
  }

  private static SpanExporter spanExporter(String protocol) {
    return protocol.equals("grpc")
        ? OtlpGrpcSpanExporter.builder().setEndpoint(stub.otlpGrpcUrl()).build()
        : OtlpHttpSpanExporter.builder().setEndpoint(stub.otlpHttpUrl() + "/v1/traces").build();
  }

  private static MetricExporter metricExporter(String protocol) {
    return protocol.equals("grpc")
        ? OtlpGrpcMetricExporter.builder().setEndpoint(stub.otlpGrpcUrl()).build()
        : OtlpHttpMetricExporter.builder().setEndpoint(stub.otlpHttpUrl() + "/v1/metrics").build();
  }

  private static LogRecordExporter logExporter(String protocol) {
    return protocol.equals("grpc")
        ? OtlpGrpcLogRecordExporter.builder().setEndpoint(stub.otlpGrpcUrl()).build()
        : OtlpHttpLogRecordExporter.builder().setEndpoint(stub.otlpHttpUrl() + "/v1/logs").build();
  }

  @ParameterizedTest
  @ValueSource(strings = {"http/protobuf", "grpc"})
  void spansArriveWithIdsTimestampsResourceScopeAttributesEventsLinksAndStatus(String protocol) {
    SdkTracerProvider provider = SdkTracerProvider.builder().setResource(RESOURCE)
        .addSpanProcessor(SimpleSpanProcessor.create(spanExporter(protocol))).build();
    Tracer tracer = provider.tracerBuilder("round-trip-scope").setInstrumentationVersion("1.2.3").build();
    SpanContext linked = SpanContext.create("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331",
        TraceFlags.getSampled(), TraceState.getDefault());
    long start = TimeUnit.MILLISECONDS.toNanos(1_700_000_000_000L) + 123_456;

    io.opentelemetry.api.trace.Span root = tracer.spanBuilder("GET /orders/{id}").setSpanKind(SpanKind.SERVER)
        .setStartTimestamp(start, TimeUnit.NANOSECONDS).startSpan();
    io.opentelemetry.api.trace.Span child = tracer.spanBuilder("SELECT orders").setSpanKind(SpanKind.CLIENT)
        .setParent(Context.current().with(root))
        .addLink(linked, Attributes.of(AttributeKey.stringKey("link.reason"), "retry-of"))
        .setAttribute("s", "text").setAttribute("b", true).setAttribute("l", 42L).setAttribute("d", 2.5)
        .setAttribute(AttributeKey.stringArrayKey("sa"), List.of("x", "y"))
        .setAttribute(AttributeKey.booleanArrayKey("ba"), List.of(true, false))
        .setAttribute(AttributeKey.longArrayKey("la"), List.of(1L, 2L))
        .setAttribute(AttributeKey.doubleArrayKey("da"), List.of(0.5, 1.5))
        .setStartTimestamp(start + 1_000, TimeUnit.NANOSECONDS).startSpan();
    child.addEvent("exception", Attributes.of(AttributeKey.stringKey("exception.message"), "boom"),
        start + 2_000, TimeUnit.NANOSECONDS);
    child.setStatus(StatusCode.ERROR, "database down");
    child.end(start + 5_000_000, TimeUnit.NANOSECONDS);
    root.end(start + 9_000_000, TimeUnit.NANOSECONDS);
    provider.forceFlush().join(10, TimeUnit.SECONDS);
    provider.shutdown();

    String traceId = root.getSpanContext().getTraceId();
    List<Received<Span>> trace = await().atMost(Duration.ofSeconds(10))
        .until(() -> stub.store().spans().trace(TraceId.parse(traceId).orElseThrow()).orElse(List.of()), t -> t.size() == 2);
    Map<String, Received<Span>> byName = trace.stream().collect(Collectors.toMap(r -> r.item().getName(), Function.identity()));
    Received<Span> received = byName.get("SELECT orders");
    Span span = received.item();

    assertThat(TraceId.hex(span.getSpanId())).isEqualTo(child.getSpanContext().getSpanId());
    assertThat(TraceId.hex(span.getParentSpanId())).isEqualTo(root.getSpanContext().getSpanId());
    assertThat(span.getStartTimeUnixNano()).isEqualTo(start + 1_000);
    assertThat(span.getEndTimeUnixNano()).isEqualTo(start + 5_000_000);
    assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
    assertThat(span.getStatus().getCode()).isEqualTo(Status.StatusCode.STATUS_CODE_ERROR);
    assertThat(span.getStatus().getMessage()).isEqualTo("database down");
    assertThat(received.service()).isEqualTo("round-trip");
    assertThat(received.scope().getName()).isEqualTo("round-trip-scope");
    assertThat(received.scope().getVersion()).isEqualTo("1.2.3");
    Map<String, KeyValue> attributes = span.getAttributesList().stream().collect(Collectors.toMap(KeyValue::getKey, kv -> kv));
    assertThat(attributes.get("s").getValue().getStringValue()).isEqualTo("text");
    assertThat(attributes.get("b").getValue().getBoolValue()).isTrue();
    assertThat(attributes.get("l").getValue().getIntValue()).isEqualTo(42);
    assertThat(attributes.get("d").getValue().getDoubleValue()).isEqualTo(2.5);
    assertThat(attributes.get("sa").getValue().getArrayValue().getValuesList()).extracting(v -> v.getStringValue()).containsExactly("x", "y");
    assertThat(attributes.get("ba").getValue().getArrayValue().getValuesList()).extracting(v -> v.getBoolValue()).containsExactly(true, false);
    assertThat(attributes.get("la").getValue().getArrayValue().getValuesList()).extracting(v -> v.getIntValue()).containsExactly(1L, 2L);
    assertThat(attributes.get("da").getValue().getArrayValue().getValuesList()).extracting(v -> v.getDoubleValue()).containsExactly(0.5, 1.5);
    assertThat(span.getEvents(0).getName()).isEqualTo("exception");
    assertThat(span.getEvents(0).getTimeUnixNano()).isEqualTo(start + 2_000);
    assertThat(TraceId.hex(span.getLinks(0).getTraceId())).isEqualTo("0af7651916cd43dd8448eb211c80319c");
    assertThat(span.getLinks(0).getAttributes(0).getKey()).isEqualTo("link.reason");

    // The same span through the query API, in Jaeger's shape.
    JsonNode jaeger = Http.getJson(stub.uiUrl() + "/api/traces/" + traceId).path("data").get(0);
    assertThat(jaeger.path("traceID").asText()).isEqualTo(traceId);
    JsonNode jChild = null;
    for (JsonNode s : jaeger.path("spans")) {
      if (s.path("operationName").asText().equals("SELECT orders")) {
        jChild = s;
      }
    }
    assertThat(jChild).isNotNull();
    assertThat(jChild.path("startTime").asLong()).isEqualTo((start + 1_000) / 1000);
    assertThat(jChild.path("duration").asLong()).isEqualTo((5_000_000 - 1_000) / 1000);
    assertThat(jChild.path("references").get(0).path("refType").asText()).isEqualTo("CHILD_OF");
    assertThat(jChild.path("references").get(0).path("spanID").asText()).isEqualTo(root.getSpanContext().getSpanId());
    assertThat(jChild.path("references").get(1).path("refType").asText()).isEqualTo("FOLLOWS_FROM");
    Map<String, JsonNode> tags = new java.util.HashMap<>();
    jChild.path("tags").forEach(t -> tags.put(t.path("key").asText(), t));
    assertThat(tags.get("l").path("type").asText()).isEqualTo("int64");
    assertThat(tags.get("l").path("value").asLong()).isEqualTo(42);
    assertThat(tags.get("b").path("type").asText()).isEqualTo("bool");
    assertThat(tags.get("d").path("type").asText()).isEqualTo("float64");
    assertThat(tags.get("span.kind").path("value").asText()).isEqualTo("client");
    assertThat(tags.get("error").path("value").asBoolean()).isTrue();
    assertThat(tags.get("otel.status_description").path("value").asText()).isEqualTo("database down");
    assertThat(jChild.path("logs").get(0).path("fields").get(0).path("value").asText()).isEqualTo("exception");
    String processId = jChild.path("processID").asText();
    assertThat(jaeger.path("processes").path(processId).path("serviceName").asText()).isEqualTo("round-trip");
  }

  @ParameterizedTest
  @ValueSource(strings = {"http/protobuf", "grpc"})
  void metricsArriveAsSumGaugeHistogramAndExponentialHistogram(String protocol) {
    PeriodicMetricReader reader = PeriodicMetricReader.builder(metricExporter(protocol)).setInterval(Duration.ofHours(1)).build();
    SdkMeterProvider provider = SdkMeterProvider.builder().setResource(RESOURCE).registerMetricReader(reader)
        .registerView(InstrumentSelector.builder().setName("exp.latency").setType(InstrumentType.HISTOGRAM).build(),
            View.builder().setAggregation(Aggregation.base2ExponentialBucketHistogram()).build())
        .build();
    Meter meter = provider.get("round-trip-meter");
    Attributes route = Attributes.of(AttributeKey.stringKey("http.route"), "/orders/{id}");
    meter.counterBuilder("requests").setUnit("{request}").build().add(7, route);
    meter.gaugeBuilder("queue.depth").build().set(3.5, route);
    io.opentelemetry.api.metrics.DoubleHistogram latency = meter.histogramBuilder("latency").setUnit("s")
        .setExplicitBucketBoundariesAdvice(List.of(0.1, 1.0)).build();
    latency.record(0.05, route);
    latency.record(0.5, route);
    latency.record(5, route);
    meter.histogramBuilder("exp.latency").build().record(0.25, route);
    provider.forceFlush().join(10, TimeUnit.SECONDS);
    provider.shutdown();

    List<Received<Metric>> sum = await().atMost(Duration.ofSeconds(10)).until(
        () -> stub.store().metricPoints().newest("round-trip", "requests", 10), l -> !l.isEmpty());
    assertThat(sum.get(0).item().getSum().getDataPoints(0).getAsInt()).isEqualTo(7);
    assertThat(sum.get(0).item().getUnit()).isEqualTo("{request}");
    assertThat(sum.get(0).scope().getName()).isEqualTo("round-trip-meter");
    Metric gauge = stub.store().metricPoints().newest("round-trip", "queue.depth", 10).get(0).item();
    assertThat(gauge.getGauge().getDataPoints(0).getAsDouble()).isEqualTo(3.5);
    Metric histogram = stub.store().metricPoints().newest("round-trip", "latency", 10).get(0).item();
    assertThat(histogram.getHistogram().getDataPoints(0).getExplicitBoundsList()).containsExactly(0.1, 1.0);
    assertThat(histogram.getHistogram().getDataPoints(0).getBucketCountsList()).containsExactly(1L, 1L, 1L);
    Metric exponential = stub.store().metricPoints().newest("round-trip", "exp.latency", 10).get(0).item();
    assertThat(exponential.getExponentialHistogram().getDataPoints(0).getCount()).isEqualTo(1);

    JsonNode metrics = Http.getJson(stub.uiUrl() + "/api/metrics?service=round-trip&name=latency").path("data");
    assertThat(metrics).hasSize(1);
    assertThat(metrics.get(0).path("type").asText()).isEqualTo("histogram");
    JsonNode point = metrics.get(0).path("points").get(0);
    assertThat(point.path("attributes").path("http.route").asText()).isEqualTo("/orders/{id}");
    assertThat(point.path("count").asLong()).isEqualTo(3);
    assertThat(point.path("buckets").get(0).path("le").asDouble()).isEqualTo(0.1);
    assertThat(point.path("buckets").get(2).path("le").asText()).isEqualTo("+Inf");
    assertThat(point.path("buckets").get(2).path("count").asLong()).isEqualTo(1);
    JsonNode types = Http.getJson(stub.uiUrl() + "/api/metrics?service=round-trip").path("data");
    assertThat(types.findValuesAsText("type")).contains("sum", "gauge", "histogram", "exponentialHistogram");
  }

  @ParameterizedTest
  @ValueSource(strings = {"http/protobuf", "grpc"})
  void logsArriveWithBodySeverityAttributesAndTraceContext(String protocol) {
    SdkLoggerProvider provider = SdkLoggerProvider.builder().setResource(RESOURCE)
        .addLogRecordProcessor(SimpleLogRecordProcessor.create(logExporter(protocol))).build();
    SpanContext spanContext = SpanContext.create("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7",
        TraceFlags.getSampled(), TraceState.getDefault());
    provider.get("round-trip-logger").logRecordBuilder()
        .setBody("payment accepted")
        .setSeverity(Severity.WARN)
        .setSeverityText("WARN")
        .setTimestamp(1_700_000_000_123_456_789L, TimeUnit.NANOSECONDS)
        .setAttribute(AttributeKey.stringKey("order.id"), "o-1")
        .setAttribute(AttributeKey.longKey("amount"), 1200L)
        .setContext(Context.root().with(io.opentelemetry.api.trace.Span.wrap(spanContext)))
        .emit();
    provider.forceFlush().join(10, TimeUnit.SECONDS);
    provider.shutdown();

    List<Received<LogRecord>> logs = await().atMost(Duration.ofSeconds(10))
        .until(() -> stub.store().logs().newest("round-trip", null, 10), l -> !l.isEmpty());
    LogRecord log = logs.get(0).item();
    assertThat(log.getBody().getStringValue()).isEqualTo("payment accepted");
    assertThat(log.getSeverityNumberValue()).isEqualTo(Severity.WARN.getSeverityNumber());
    assertThat(log.getTimeUnixNano()).isEqualTo(1_700_000_000_123_456_789L);
    assertThat(TraceId.hex(log.getTraceId())).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(TraceId.hex(log.getSpanId())).isEqualTo("00f067aa0ba902b7");

    JsonNode json = Http.getJson(stub.uiUrl() + "/api/logs?service=round-trip&traceId=4BF92F3577B34DA6A3CE929D0E0E4736")
        .path("data");
    assertThat(json).hasSize(1);
    assertThat(json.get(0).path("body").asText()).isEqualTo("payment accepted");
    assertThat(json.get(0).path("severityNumber").asInt()).isEqualTo(13);
    assertThat(json.get(0).path("timeUnixNano").asLong()).isEqualTo(1_700_000_000_123_456_789L);
    assertThat(json.get(0).path("attributes").path("amount").asLong()).isEqualTo(1200);
    assertThat(json.get(0).path("resource").path("deployment.environment").asText()).isEqualTo("test");
    assertThat(json.get(0).path("spanId").asText()).isEqualTo("00f067aa0ba902b7");
  }
}
