package dev.sidecars.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.Sum;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.http.HttpResponse;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The query API as the contract gives it: filters, limits (newest kept, oldest first), 404s and 400s. */
class QueryApiTest {
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
  void seed() {
    stub.reset();
    // Five traces: t1..t5, alternating between two services; each a root and one child.
    for (int t = 1; t <= 5; t++) {
      String service = t % 2 == 1 ? "payment" : "fraud-check";
      ScopeSpans.Builder spans = ScopeSpans.newBuilder()
          .addSpans(span(t, 1, 0, "GET /pay"))
          .addSpans(span(t, 2, 1, "SELECT"));
      post("/v1/traces", ExportTraceServiceRequest.newBuilder().addResourceSpans(ResourceSpans.newBuilder()
          .setResource(resource(service)).addScopeSpans(spans)).build().toByteArray());
      post("/v1/logs", ExportLogsServiceRequest.newBuilder().addResourceLogs(ResourceLogs.newBuilder()
          .setResource(resource(service)).addScopeLogs(ScopeLogs.newBuilder().addLogRecords(LogRecord.newBuilder()
              .setTraceId(traceId(t)).setSpanId(spanId(t, 1)).setBody(AnyValue.newBuilder().setStringValue("log " + t))
              .setTimeUnixNano(t)))).build().toByteArray());
    }
  }

  private static void post(String path, byte[] body) {
    assertThat(Http.post(stub.otlpHttpUrl() + path, "application/x-protobuf", body).statusCode()).isEqualTo(200);
  }

  private static Resource resource(String service) {
    return Resource.newBuilder().addAttributes(KeyValue.newBuilder().setKey("service.name")
        .setValue(AnyValue.newBuilder().setStringValue(service))).build();
  }

  static ByteString traceId(int t) {
    byte[] id = new byte[16];
    id[15] = (byte) t;
    id[0] = 0x0a;
    return ByteString.copyFrom(id);
  }

  static ByteString spanId(int t, int s) {
    return ByteString.copyFrom(new byte[] {0, 0, 0, 0, 0, 0, (byte) t, (byte) s});
  }

  static String hex(ByteString b) {
    return HexFormat.of().formatHex(b.toByteArray());
  }

  private static Span span(int t, int s, int parent, String name) {
    Span.Builder b = Span.newBuilder().setTraceId(traceId(t)).setSpanId(spanId(t, s)).setName(name)
        .setStartTimeUnixNano(1_000_000L * t).setEndTimeUnixNano(1_000_000L * t + 500_000);
    if (parent > 0) {
      b.setParentSpanId(spanId(t, parent));
    }
    return b.build();
  }

  @Test
  void servicesListsEveryServiceOnce() {
    JsonNode data = Http.getJson(stub.uiUrl() + "/api/services").path("data");
    assertThat(data).extracting(JsonNode::asText).containsExactly("fraud-check", "payment");
  }

  @Test
  void tracesAreFilteredByServiceAndOperationAndLimitedToTheNewestListedOldestFirst() {
    JsonNode payment = Http.getJson(stub.uiUrl() + "/api/traces?service=payment").path("data");
    assertThat(payment).extracting(t -> t.path("traceID").asText())
        .containsExactly(hex(traceId(1)), hex(traceId(3)), hex(traceId(5)));
    assertThat(payment.get(0).path("spans")).hasSize(2);

    JsonNode newestTwo = Http.getJson(stub.uiUrl() + "/api/traces?limit=2").path("data");
    assertThat(newestTwo).extracting(t -> t.path("traceID").asText()).containsExactly(hex(traceId(4)), hex(traceId(5)));

    assertThat(Http.getJson(stub.uiUrl() + "/api/traces?service=payment&operation=SELECT").path("data")).hasSize(3);
    assertThat(Http.getJson(stub.uiUrl() + "/api/traces?service=payment&operation=nope").path("data")).isEmpty();
  }

  @Test
  void oneTraceByIdIs404WhenUnknownAnd400WhenNotHex() {
    JsonNode trace = Http.getJson(stub.uiUrl() + "/api/traces/" + hex(traceId(2)).toUpperCase()).path("data");
    assertThat(trace).hasSize(1);
    assertThat(trace.get(0).path("spans")).hasSize(2);
    assertThat(trace.get(0).path("processes").path("p1").path("serviceName").asText()).isEqualTo("fraud-check");

    assertThat(Http.get(stub.uiUrl() + "/api/traces/00000000000000000000000000000bad").statusCode()).isEqualTo(404);
    HttpResponse<byte[]> notHex = Http.get(stub.uiUrl() + "/api/traces/not-a-trace");
    assertThat(notHex.statusCode()).isEqualTo(400);
    assertThat(Http.json(notHex).path("error").asText()).contains("hex");
  }

  @Test
  void logsAreFilteredByServiceAndTraceIdOldestFirst() {
    JsonNode all = Http.getJson(stub.uiUrl() + "/api/logs").path("data");
    assertThat(all).extracting(l -> l.path("body").asText()).containsExactly("log 1", "log 2", "log 3", "log 4", "log 5");
    JsonNode byTrace = Http.getJson(stub.uiUrl() + "/api/logs?traceId=" + hex(traceId(4))).path("data");
    assertThat(byTrace).hasSize(1);
    assertThat(byTrace.get(0).path("traceId").asText()).isEqualTo(hex(traceId(4)));
    assertThat(byTrace.get(0).path("resource").path("service.name").asText()).isEqualTo("fraud-check");
    assertThat(Http.getJson(stub.uiUrl() + "/api/logs?service=payment&limit=1").path("data").get(0).path("body").asText())
        .isEqualTo("log 5");
  }

  /**
   * Three sidecars of one service export a same-named counter: each process stays a metric of its own, with
   * its resource, and {@code pointsPerSeries} keeps the newest points of each series.
   */
  @Test
  void metricsAreKeptApartPerProcessAndTrimmedPerSeries() {
    for (int export = 1; export <= 4; export++) {
      for (String sidecar : new String[] {"metrics-proxy", "trace-injector", "log-forwarder"}) {
        Resource resource = resource("payment").toBuilder().addAttributes(KeyValue.newBuilder().setKey("sidecar.name")
            .setValue(AnyValue.newBuilder().setStringValue(sidecar))).build();
        Metric counter = Metric.newBuilder().setName("access_log_dropped_lines").setSum(Sum.newBuilder()
            .setIsMonotonic(true).setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE)
            .addDataPoints(NumberDataPoint.newBuilder().setTimeUnixNano(export).setAsInt(export * sidecar.length())))
            .build();
        post("/v1/metrics", ExportMetricsServiceRequest.newBuilder().addResourceMetrics(ResourceMetrics.newBuilder()
            .setResource(resource).addScopeMetrics(ScopeMetrics.newBuilder().addMetrics(counter))).build().toByteArray());
      }
    }

    JsonNode all = Http.getJson(stub.uiUrl() + "/api/metrics?service=payment&limit=1000").path("data");
    assertThat(all).hasSize(3).allSatisfy(m -> {
      assertThat(m.path("name").asText()).isEqualTo("access_log_dropped_lines");
      assertThat(m.path("service").asText()).isEqualTo("payment");
      assertThat(m.path("points")).hasSize(4);
      // One process's counter only ever grows: no zig-zag of three processes merged.
      long length = m.path("resource").path("sidecar.name").asText().length();
      assertThat(m.path("points")).extracting(p -> p.path("value").asLong()).containsExactly(
          length, 2 * length, 3 * length, 4 * length);
    });
    assertThat(all).extracting(m -> m.path("resource").path("sidecar.name").asText())
        .containsExactlyInAnyOrder("metrics-proxy", "trace-injector", "log-forwarder");

    JsonNode newestTwo = Http.getJson(stub.uiUrl() + "/api/metrics?service=payment&limit=1000&pointsPerSeries=2")
        .path("data");
    assertThat(newestTwo).allSatisfy(m -> assertThat(m.path("points")).extracting(p -> p.path("timeUnixNano").asLong())
        .containsExactly(3L, 4L));
    assertThat(Http.get(stub.uiUrl() + "/api/metrics?pointsPerSeries=0").statusCode()).isEqualTo(400);
  }

  @Test
  void statsCountAndDeleteEmptiesTheStore() {
    JsonNode stats = Http.getJson(stub.uiUrl() + "/api/stats");
    assertThat(stats.path("stored").path("spans").asInt()).isEqualTo(10);
    assertThat(stats.path("stored").path("logs").asInt()).isEqualTo(5);
    for (String field : new String[] {"spans", "logs", "metricPoints", "requests", "rejected"}) {
      assertThat(stats.has(field)).as(field).isTrue();
    }

    assertThat(Http.request("DELETE", stub.uiUrl() + "/api/data", null).statusCode()).isEqualTo(200);
    assertThat(Http.getJson(stub.uiUrl() + "/api/traces").path("data")).isEmpty();
    assertThat(Http.getJson(stub.uiUrl() + "/api/services").path("data")).isEmpty();
    assertThat(Http.getJson(stub.uiUrl() + "/api/stats").path("spans").asLong()).isGreaterThanOrEqualTo(10);
  }

  @Test
  void badParametersAndUnknownEndpointsAreClear4xx() {
    for (String bad : new String[] {"/api/traces?limit=0", "/api/traces?limit=ten", "/api/logs?traceId=xyz"}) {
      HttpResponse<byte[]> response = Http.get(stub.uiUrl() + bad);
      assertThat(response.statusCode()).as(bad).isEqualTo(400);
      assertThat(Http.json(response).path("error").asText()).as(bad).isNotBlank();
    }
    assertThat(Http.get(stub.uiUrl() + "/api/nothing").statusCode()).isEqualTo(404);
    assertThat(Http.request("POST", stub.uiUrl() + "/api/traces", "{}").statusCode()).isEqualTo(405);
    assertThat(Http.request("GET", stub.uiUrl() + "/api/data", null).statusCode()).isEqualTo(405);
  }

  @Test
  void theUiIsServedAtTheRoot() {
    HttpResponse<byte[]> index = Http.get(stub.uiUrl() + "/");
    assertThat(index.statusCode()).isEqualTo(200);
    assertThat(new String(index.body())).containsIgnoringCase("<html");
  }
}
