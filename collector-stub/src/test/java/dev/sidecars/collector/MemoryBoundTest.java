package dev.sidecars.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * The store keeps at most its bound while a million spans arrive over OTLP/HTTP: the oldest go first,
 * every one is counted, and the newest are still there.
 */
class MemoryBoundTest {
  private static final int BOUND = CollectorStubConfig.DEFAULT_MAX_ITEMS;
  private static final int BATCH = 512;
  private static final int TOTAL = 1_000_000;

  @Test
  void aMillionSpansLeaveTheNewestBoundSpansAndCountTheRest() {
    try (CollectorStub stub = CollectorStub.start(CollectorStubConfig.builder().freePorts().build())) {
      int sent = 0;
      int maxStored = 0;
      byte[] last = null;
      while (sent < TOTAL) {
        int n = Math.min(BATCH, TOTAL - sent);
        ExportTraceServiceRequest request = batch(sent, n);
        assertThat(Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", request.toByteArray()).statusCode())
            .isEqualTo(200);
        sent += n;
        maxStored = Math.max(maxStored, stub.store().spans().size());
        last = request.getResourceSpans(0).getScopeSpans(0).getSpans(n - 1).getTraceId().toByteArray();
      }

      assertThat(maxStored).isEqualTo(BOUND);
      assertThat(stub.stats().spans()).isEqualTo(TOTAL);
      assertThat(stub.store().spans().evicted()).isEqualTo(TOTAL - BOUND);
      assertThat(Http.getJson(stub.uiUrl() + "/api/stats").path("dropped").asLong()).isEqualTo(TOTAL - BOUND);
      // The newest span is kept, the very first is gone.
      assertThat(stub.store().spans().trace(dev.sidecars.collector.store.TraceId.of(ByteString.copyFrom(last)))).isPresent();
      assertThat(stub.store().spans().trace(dev.sidecars.collector.store.TraceId.of(traceId(0)))).isEmpty();
    }
  }

  private static ByteString traceId(int i) {
    return ByteString.copyFrom(ByteBuffer.allocate(16).putLong(0x5eedL).putLong(i + 1L).array());
  }

  private static ExportTraceServiceRequest batch(int first, int n) {
    ScopeSpans.Builder scope = ScopeSpans.newBuilder();
    for (int i = first; i < first + n; i++) {
      scope.addSpans(Span.newBuilder()
          .setTraceId(traceId(i / 4))
          .setSpanId(ByteString.copyFrom(ByteBuffer.allocate(8).putLong(i + 1L).array()))
          .setName("GET /items/{id}")
          .setStartTimeUnixNano(1_700_000_000_000_000_000L + i)
          .setEndTimeUnixNano(1_700_000_000_000_100_000L + i)
          .addAttributes(KeyValue.newBuilder().setKey("http.request.method").setValue(AnyValue.newBuilder().setStringValue("GET")))
          .addAttributes(KeyValue.newBuilder().setKey("http.response.status_code").setValue(AnyValue.newBuilder().setIntValue(200))));
    }
    return ExportTraceServiceRequest.newBuilder().addResourceSpans(ResourceSpans.newBuilder()
        .setResource(Resource.newBuilder().addAttributes(KeyValue.newBuilder().setKey("service.name")
            .setValue(AnyValue.newBuilder().setStringValue("load"))))
        .addScopeSpans(scope)).build();
  }
}
