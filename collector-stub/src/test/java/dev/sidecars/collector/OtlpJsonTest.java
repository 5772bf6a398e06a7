package dev.sidecars.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.rpc.Status;
import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** OTLP/JSON exactly as the OTLP specification maps it: its example bodies, hex ids, and what it refuses. */
class OtlpJsonTest {
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

  private static byte[] example(String name) throws IOException {
    try (InputStream in = OtlpJsonTest.class.getResourceAsStream("/otlp-json/" + name)) {
      return in.readAllBytes();
    }
  }

  private static HttpResponse<byte[]> postJson(String signal, byte[] body) {
    return Http.post(stub.otlpHttpUrl() + "/v1/" + signal, "application/json", body);
  }

  @Test
  void acceptsTheSpecificationsTraceExampleWithUpperCaseHexIds() throws IOException {
    HttpResponse<byte[]> response = postJson("traces", example("trace.json"));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(Http.json(response).has("partialSuccess")).isFalse();
    List<Received<Span>> spans = stub.store().spans().spans(null, 10);
    assertThat(spans).hasSize(1);
    Span span = spans.get(0).item();
    assertThat(TraceId.hex(span.getTraceId())).isEqualTo("5b8efff798038103d269b633813fc60c");
    assertThat(TraceId.hex(span.getSpanId())).isEqualTo("eee19b7ec3c1b174");
    assertThat(TraceId.hex(span.getParentSpanId())).isEqualTo("eee19b7ec3c1b173");
    assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER); // enum given as the integer 2
    assertThat(span.getStartTimeUnixNano()).isEqualTo(1544712660000000000L); // int64 given as a number
    assertThat(spans.get(0).service()).isEqualTo("my.service");
    assertThat(spans.get(0).scope().getVersion()).isEqualTo("1.0.0");
  }

  @Test
  void acceptsTheSpecificationsMetricsExample() throws IOException {
    assertThat(postJson("metrics", example("metrics.json")).statusCode()).isEqualTo(200);

    List<Received<Metric>> points = stub.store().metricPoints().newest("my.service", null, 10);
    assertThat(points).extracting(p -> p.item().getName()).containsExactly("my.counter", "my.gauge", "my.histogram");
    assertThat(points.get(2).item().getHistogram().getDataPoints(0).getBucketCountsList()).containsExactly(1L, 1L, 1L);
    assertThat(points.get(0).item().getSum().getIsMonotonic()).isTrue();
  }

  @Test
  void acceptsTheSpecificationsLogsExample() throws IOException {
    assertThat(postJson("logs", example("logs.json")).statusCode()).isEqualTo(200);

    List<Received<LogRecord>> logs = stub.store().logs().newest(null, null, 10);
    assertThat(logs).hasSize(1);
    LogRecord log = logs.get(0).item();
    assertThat(log.getBody().getStringValue()).isEqualTo("Example log record");
    assertThat(TraceId.hex(log.getTraceId())).isEqualTo("5b8efff798038103d269b633813fc60c");
    assertThat(log.getAttributesList()).hasSize(6);
  }

  @Test
  void takes64BitIntegersAsStringsAndIgnoresUnknownFields() {
    String body = """
        {"resourceSpans":[{"futureField":{"x":1},"scopeSpans":[{"spans":[{
          "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",
          "name":"n","startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000223456789",
          "kind":3,"attributes":[{"key":"big","value":{"intValue":"9007199254740993"}}],
          "somethingNew":true}]}]}]}""";
    HttpResponse<byte[]> response = postJson("traces", body.getBytes(StandardCharsets.UTF_8));

    assertThat(response.statusCode()).isEqualTo(200);
    Span span = stub.store().spans().spans(null, 1).get(0).item();
    assertThat(span.getStartTimeUnixNano()).isEqualTo(1700000000123456789L);
    assertThat(span.getAttributes(0).getValue().getIntValue()).isEqualTo(9007199254740993L);
    assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
  }

  @Test
  void refusesBase64IdsWithA400ThatSaysWhy() {
    String body = """
        {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ=","name":"n"}]}]}]}""";
    HttpResponse<byte[]> response = postJson("traces", body.getBytes(StandardCharsets.UTF_8));

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode status = Http.json(response);
    assertThat(status.path("code").asInt()).isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT.value());
    assertThat(status.path("message").asText())
        .contains("traceId")
        .contains("32 hex characters")
        .contains("not base64");
    assertThat(stub.store().spans().size()).isZero();
  }

  @Test
  void answersProtobufRequestsWithAProtobufStatusOnError() throws Exception {
    HttpResponse<byte[]> response = Http.post(stub.otlpHttpUrl() + "/v1/logs", "application/x-protobuf",
        new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/x-protobuf");
    Status status = Status.parseFrom(response.body());
    assertThat(status.getMessage()).startsWith("malformed protobuf");
  }

  @Test
  void refusesAWrongLengthHexIdAndAnIdThatIsNotHex() {
    for (String id : List.of("abc", "zz8efff798038103d269b633813fc60c")) {
      String body = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"traceId\":\"" + id + "\"}]}]}]}";
      HttpResponse<byte[]> response = postJson("logs", body.getBytes(StandardCharsets.UTF_8));
      assertThat(response.statusCode()).as(id).isEqualTo(400);
      assertThat(Http.json(response).path("message").asText()).contains("traceId").contains("hex");
    }
  }
}
