package dev.sidecars.collector.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.Span;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpanStoreTest {
  private static final InstrumentationScope SCOPE = InstrumentationScope.newBuilder().setName("test").build();

  private static Resource service(String name) {
    return Resource.newBuilder()
        .addAttributes(KeyValue.newBuilder().setKey("service.name").setValue(AnyValue.newBuilder().setStringValue(name)))
        .build();
  }

  private static Span span(int trace, int id, int payloadBytes) {
    return Span.newBuilder()
        .setTraceId(ByteString.copyFrom(ByteBuffer.allocate(16).putLong(7).putLong(trace).array()))
        .setSpanId(ByteString.copyFrom(ByteBuffer.allocate(8).putLong(id).array()))
        .setName("op-" + (id % 3))
        .addAttributes(KeyValue.newBuilder().setKey("pad").setValue(AnyValue.newBuilder().setStringValue("x".repeat(payloadBytes))))
        .build();
  }

  private static long spanId(Received<Span> r) {
    return ByteBuffer.wrap(r.item().getSpanId().toByteArray()).getLong();
  }

  private static TraceId traceId(int trace) {
    return new TraceId(7, trace);
  }

  @Test
  void tracesStayWholeAcrossGrowthAndEviction() {
    SpanStore store = new SpanStore(3000); // grows from 1024 slots twice, then evicts
    Resource a = service("a");
    for (int id = 0; id < 5000; id++) {
      store.add(a, SCOPE, List.of(EncodedSpan.of(span(id % 7, id, 10))));
    }

    assertThat(store.size()).isEqualTo(3000);
    assertThat(store.evicted()).isEqualTo(2000);
    for (int trace = 0; trace < 7; trace++) {
      List<Long> expected = new ArrayList<>();
      for (long id = 2000; id < 5000; id++) {
        if (id % 7 == trace) {
          expected.add(id);
        }
      }
      assertThat(store.trace(traceId(trace)).orElseThrow()).extracting(SpanStoreTest::spanId).containsExactlyElementsOf(expected);
    }
  }

  @Test
  void bytesSurviveChunkReuseAndLargeSpans() {
    SpanStore store = new SpanStore(50);
    Resource a = service("a");
    // Enough bytes to fill and recycle several arena chunks, with a span larger than a chunk's quarter now and then.
    for (int id = 0; id < 4000; id++) {
      int pad = id % 500 == 0 ? ByteArena.CHUNK_BYTES / 2 : 2000;
      store.add(a, SCOPE, List.of(EncodedSpan.of(span(id, id, pad))));
    }

    List<Received<Span>> kept = store.spans(null, 100);
    assertThat(kept).extracting(SpanStoreTest::spanId).containsExactlyElementsOf(
        java.util.stream.LongStream.range(3950, 4000).boxed().toList());
    assertThat(kept).allSatisfy(r -> assertThat(r.item()).isEqualTo(span((int) spanId(r), (int) spanId(r), 2000)));
  }

  @Test
  void servicesAndOperationsAreFilteredAndForgottenWithTheirLastSpan() {
    SpanStore store = new SpanStore(4);
    store.add(service("a"), SCOPE, List.of(EncodedSpan.of(span(1, 1, 1)), EncodedSpan.of(span(1, 2, 1))));
    store.add(service("b"), SCOPE, List.of(EncodedSpan.of(span(2, 3, 1)), EncodedSpan.of(span(3, 4, 1))));

    assertThat(store.services()).containsExactly("a", "b");
    assertThat(store.traces("b", null, 10)).hasSize(2);
    assertThat(store.traces(null, "op-2", 10)).singleElement()
        .satisfies(trace -> assertThat(trace).extracting(SpanStoreTest::spanId).containsExactly(1L, 2L));

    store.add(service("c"), SCOPE, List.of(EncodedSpan.of(span(4, 5, 1)), EncodedSpan.of(span(4, 6, 1))));
    assertThat(store.services()).containsExactly("b", "c");
    assertThat(store.trace(traceId(1))).isEmpty();

    store.clear();
    assertThat(store.size()).isZero();
    assertThat(store.services()).isEmpty();
    store.add(service("d"), SCOPE, List.of(EncodedSpan.of(span(9, 9, 1))));
    assertThat(store.spans("d", 10)).singleElement().satisfies(r -> assertThat(spanId(r)).isEqualTo(9));
  }

  @Test
  void evictingAServicesLastSpanWhileAddingToItKeepsTheCountsRight() {
    SpanStore store = new SpanStore(2);
    store.add(service("a"), SCOPE, List.of(EncodedSpan.of(span(1, 1, 1))));
    store.add(service("b"), SCOPE, List.of(EncodedSpan.of(span(2, 2, 1))));
    store.add(service("a"), SCOPE, List.of(EncodedSpan.of(span(3, 3, 1)))); // evicts a's only span first
    store.add(service("b"), SCOPE, List.of(EncodedSpan.of(span(4, 4, 1))));
    store.add(service("c"), SCOPE, List.of(EncodedSpan.of(span(5, 5, 1))));

    assertThat(store.services()).containsExactly("b", "c");
    assertThat(store.spans(null, 10)).extracting(SpanStoreTest::spanId).containsExactly(4L, 5L);
  }

  @Test
  void largeSpansAreFreedWithTheirSlotsNotHeldBehindTheCurrentChunk() {
    SpanStore store = new SpanStore(10);
    store.add(service("a"), SCOPE, List.of(EncodedSpan.of(span(0, 0, 10))));
    for (int id = 1; id <= 200; id++) {
      store.add(service("a"), SCOPE, List.of(EncodedSpan.of(span(id, id, ByteArena.CHUNK_BYTES / 3))));
    }

    assertThat(store.size()).isEqualTo(10);
    assertThat(store.arenaChunks()).isLessThanOrEqualTo(1);
  }
}
