package dev.sidecars.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sidecars.collector.faults.Fault;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import com.google.rpc.RetryInfo;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Scripted faults answer HTTP and gRPC alike, and real SDK exporters react to them as OTLP says: they
 * retry 503 with {@code Retry-After} until the data arrives, and do not retry a partial success or a 400.
 */
class FaultInjectionTest {
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

  /**
   * Makes {@code count} spans with the SDK and hands them to the real exporter directly: the span
   * processors would hide the export's result, which these tests are about.
   */
  private static CompletableResultCode sendSpans(SpanExporter exporter, String service, int count) {
    List<SpanData> spans = new ArrayList<>();
    SdkTracerProvider provider = SdkTracerProvider.builder()
        .setResource(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), service)))
        .addSpanProcessor(SimpleSpanProcessor.create(new SpanExporter() {
          @Override
          public CompletableResultCode export(Collection<SpanData> batch) {
            spans.addAll(batch);
            return CompletableResultCode.ofSuccess();
          }

          @Override
          public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
          }

          @Override
          public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
          }
        }))
        .build();
    for (int i = 0; i < count; i++) {
      provider.get("faults").spanBuilder("span-" + i).startSpan().end();
    }
    provider.shutdown().join(10, TimeUnit.SECONDS);
    CompletableResultCode result = exporter.export(spans).join(60, TimeUnit.SECONDS);
    exporter.shutdown().join(10, TimeUnit.SECONDS);
    return result;
  }

  @Test
  void httpExporterRetries503WithRetryAfterAndItsDataArrives() {
    stub.inject(Fault.throttle(Signal.TRACES, 503, 1, 2));
    long requestsBefore = stub.stats().requests();

    CompletableResultCode result = sendSpans(
        OtlpHttpSpanExporter.builder().setEndpoint(stub.otlpHttpUrl() + "/v1/traces").build(), "retrying", 5);

    assertThat(result.isSuccess()).isTrue();
    assertThat(stub.store().spans().spans("retrying", 100)).hasSize(5);
    assertThat(stub.stats().requests() - requestsBefore).isEqualTo(3); // two refused, then accepted
    assertThat(stub.faults().list()).isEmpty();
  }

  @Test
  void grpcExporterRetriesUnavailableWithRetryInfoAndItsDataArrives() {
    stub.inject(Fault.throttle(Signal.TRACES, 503, 1, 1));

    CompletableResultCode result = sendSpans(
        OtlpGrpcSpanExporter.builder().setEndpoint(stub.otlpGrpcUrl()).build(), "grpc-retrying", 4);

    assertThat(result.isSuccess()).isTrue();
    assertThat(stub.store().spans().spans("grpc-retrying", 100)).hasSize(4);
  }

  @Test
  void partialSuccessIsCountedAndNotRetried() {
    stub.inject(Fault.partial(Signal.TRACES, 2, 1));
    long requestsBefore = stub.stats().requests();

    sendSpans(OtlpHttpSpanExporter.builder().setEndpoint(stub.otlpHttpUrl() + "/v1/traces").build(), "partial", 6);

    assertThat(stub.store().spans().spans("partial", 100)).hasSize(4);
    assertThat(stub.stats().rejectedItems()).isGreaterThanOrEqualTo(2);
    assertThat(stub.stats().requests() - requestsBefore).isEqualTo(1);
  }

  @Test
  void badRequestIsNotRetried() {
    stub.inject(Fault.status(Signal.TRACES, 400, 5));
    long requestsBefore = stub.stats().requests();

    CompletableResultCode result = sendSpans(
        OtlpHttpSpanExporter.builder().setEndpoint(stub.otlpHttpUrl() + "/v1/traces").build(), "bad", 3);

    assertThat(result.isSuccess()).isFalse();
    assertThat(stub.stats().requests() - requestsBefore).isEqualTo(1);
    assertThat(stub.store().spans().size()).isZero();
  }

  @Test
  void httpAnswersCarryTheScriptedStatusRetryAfterAndStatusBody() throws Exception {
    for (int status : new int[] {429, 503, 400, 413, 500}) {
      stub.inject(Fault.throttle(Signal.LOGS, status, 7, 1));
      HttpResponse<byte[]> response = Http.post(stub.otlpHttpUrl() + "/v1/logs", "application/x-protobuf", new byte[0]);
      assertThat(response.statusCode()).isEqualTo(status);
      assertThat(response.headers().firstValue("Retry-After")).hasValue("7");
      assertThat(com.google.rpc.Status.parseFrom(response.body()).getMessage()).contains("fault injected");
    }
    // A fault for another signal leaves this one alone.
    stub.inject(Fault.status(Signal.METRICS, 500, 1));
    assertThat(Http.post(stub.otlpHttpUrl() + "/v1/logs", "application/x-protobuf", new byte[0]).statusCode()).isEqualTo(200);
  }

  @Test
  void grpcAnswersCarryTheMatchingCodeAndRetryInfo() throws Exception {
    ManagedChannel channel = ManagedChannelBuilder.forTarget(stub.otlpGrpcUrl().replace("http://", "")).usePlaintext().build();
    try {
      TraceServiceGrpc.TraceServiceBlockingStub client = TraceServiceGrpc.newBlockingStub(channel);
      var request = MalformedRequestTest.validRequest(3);

      stub.inject(Fault.throttle(null, 429, 3, 1));
      StatusRuntimeException throttled = org.assertj.core.api.Assertions.catchThrowableOfType(
          StatusRuntimeException.class, () -> client.export(request));
      assertThat(throttled.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
      RetryInfo retryInfo = StatusProto.fromThrowable(throttled).getDetails(0).unpack(RetryInfo.class);
      assertThat(retryInfo.getRetryDelay().getSeconds()).isEqualTo(3);

      stub.inject(Fault.status(Signal.TRACES, 400, 1));
      StatusRuntimeException invalid = org.assertj.core.api.Assertions.catchThrowableOfType(
          StatusRuntimeException.class, () -> client.export(request));
      assertThat(invalid.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT);

      stub.inject(Fault.partial(Signal.TRACES, 1, 1));
      ExportTraceServiceResponse partial = client.export(request);
      assertThat(partial.getPartialSuccess().getRejectedSpans()).isEqualTo(1);
      assertThat(stub.store().spans().size()).isEqualTo(2);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void faultsApiScriptsListsAndClears() {
    HttpResponse<byte[]> created = Http.request("POST", stub.uiUrl() + "/api/faults",
        "{\"signal\":\"metrics\",\"status\":503,\"retryAfterSeconds\":2,\"times\":3}", "Content-Type", "application/json");
    assertThat(created.statusCode()).isEqualTo(201);
    JsonNode listed = Http.getJson(stub.uiUrl() + "/api/faults").path("data");
    assertThat(listed).hasSize(1);
    assertThat(listed.get(0).path("signal").asText()).isEqualTo("metrics");
    assertThat(listed.get(0).path("remaining").asInt()).isEqualTo(3);

    HttpResponse<byte[]> refused = Http.post(stub.otlpHttpUrl() + "/v1/metrics", "application/json", "{}".getBytes());
    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(Http.getJson(stub.uiUrl() + "/api/faults").path("data").get(0).path("remaining").asInt()).isEqualTo(2);

    assertThat(Http.json(Http.request("DELETE", stub.uiUrl() + "/api/faults", null)).path("cleared").asInt()).isEqualTo(1);
    assertThat(Http.post(stub.otlpHttpUrl() + "/v1/metrics", "application/json", "{}".getBytes()).statusCode()).isEqualTo(200);

    JsonNode partial = Http.json(Http.request("POST", stub.uiUrl() + "/api/faults", "{\"signal\":\"all\",\"rejectPartially\":1}",
        "Content-Type", "application/json"));
    assertThat(partial.path("rejectPartially").asInt()).isEqualTo(1);
  }

  @Test
  void badFaultsAreRefusedWith400() {
    for (String body : new String[] {
        "{\"status\":418}", "{\"signal\":\"profiles\",\"status\":503}", "{\"status\":503,\"times\":0}",
        "{\"status\":503,\"retryAfter\":2}", "not json", "[]", "{\"status\":\"503\"}"}) {
      HttpResponse<byte[]> response = Http.request("POST", stub.uiUrl() + "/api/faults", body, "Content-Type", "application/json");
      assertThat(response.statusCode()).as(body).isEqualTo(400);
      assertThat(Http.json(response).path("error").asText()).as(body).isNotBlank();
    }
    assertThat(stub.faults().list()).isEmpty();
  }

  @Test
  void rejectedRequestsAreCountedInStats() {
    long before = stub.stats().rejected();
    stub.inject(Fault.status(Signal.TRACES, 500, 2));
    Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", new byte[0]);
    Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", new byte[0]);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(Http.getJson(stub.uiUrl() + "/api/stats").path("rejected").asLong()).isEqualTo(before + 2));
  }
}
