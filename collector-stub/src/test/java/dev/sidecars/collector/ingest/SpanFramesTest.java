package dev.sidecars.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.sidecars.collector.store.EncodedSpan;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpanFramesTest {
  private static Span span(int i) {
    byte[] traceId = new byte[16];
    traceId[15] = (byte) i;
    return Span.newBuilder()
        .setTraceId(ByteString.copyFrom(traceId))
        .setSpanId(ByteString.copyFrom(new byte[] {0, 0, 0, 0, 0, 0, 0, (byte) (i + 1)}))
        .setName("span " + i)
        .build();
  }

  private static ExportTraceServiceRequest request() {
    UnknownFieldSet unknown = UnknownFieldSet.newBuilder()
        .addField(99, UnknownFieldSet.Field.newBuilder().addVarint(5).addLengthDelimited(ByteString.copyFromUtf8("x")).build())
        .build();
    return ExportTraceServiceRequest.newBuilder()
        .addResourceSpans(ResourceSpans.newBuilder()
            .setResource(Resource.newBuilder().addAttributes(KeyValue.newBuilder().setKey("service.name")
                .setValue(AnyValue.newBuilder().setStringValue("a"))))
            .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
            .setUnknownFields(unknown)
            .addScopeSpans(ScopeSpans.newBuilder().setScope(InstrumentationScope.newBuilder().setName("s1"))
                .addSpans(span(1)).addSpans(span(2)).setUnknownFields(unknown))
            .addScopeSpans(ScopeSpans.newBuilder().setScope(InstrumentationScope.newBuilder().setName("s2")).addSpans(span(3))))
        .addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(ScopeSpans.newBuilder().addSpans(span(4))))
        .setUnknownFields(unknown)
        .build();
  }

  @Test
  void readsWhatAWholeMessageParseReadsAndKeepsEachSpansBytes() throws Exception {
    ExportTraceServiceRequest request = request();
    List<SpanBatch> frames = SpanFrames.read(request.toByteArray());
    List<SpanBatch> parsed = SpanBatch.of(ExportTraceServiceRequest.parseFrom(request.toByteArray()));

    assertThat(frames).hasSize(3);
    for (int i = 0; i < frames.size(); i++) {
      SpanBatch f = frames.get(i);
      SpanBatch p = parsed.get(i);
      assertThat(f.resource()).isEqualTo(p.resource());
      assertThat(f.scope()).isEqualTo(p.scope());
      assertThat(f.spans()).extracting(EncodedSpan::span).isEqualTo(p.spans().stream().map(EncodedSpan::span).toList());
      for (EncodedSpan s : f.spans()) {
        byte[] bytes = Arrays.copyOfRange(s.bytes(), s.offset(), s.offset() + s.length());
        assertThat(Span.parseFrom(bytes)).isEqualTo(s.span());
      }
    }
  }

  @Test
  void refusesWrongWireTypesAndTruncation() {
    byte[] wrongType = {0x08, 0x01}; // field 1 as a varint, where ResourceSpans is a message
    assertThatThrownBy(() -> SpanFrames.read(wrongType)).isInstanceOf(MalformedRequestException.class)
        .hasMessageContaining("wire type");

    byte[] whole = request().toByteArray();
    assertThatThrownBy(() -> SpanFrames.read(Arrays.copyOf(whole, whole.length - 3)))
        .isInstanceOf(MalformedRequestException.class).hasMessageStartingWith("malformed protobuf");
  }
}
