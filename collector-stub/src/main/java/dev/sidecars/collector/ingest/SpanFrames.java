package dev.sidecars.collector.ingest;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import dev.sidecars.collector.store.EncodedSpan;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a protobuf {@code ExportTraceServiceRequest} into {@link SpanBatch}es keeping each span's bytes as
 * sent. The envelope ({@code ResourceSpans}, {@code ScopeSpans}) is walked with protobuf's own
 * {@link CodedInputStream}; every span, resource and scope is still decoded by its generated parser, so a
 * malformed body is refused exactly as a whole-message parse would refuse it, but no span is encoded
 * again just to be stored (that was most of the stub's CPU per span).
 */
final class SpanFrames {
  // Field numbers of opentelemetry/proto/collector/trace/v1 and trace/v1.
  private static final int REQUEST_RESOURCE_SPANS = 1;
  private static final int RESOURCE_SPANS_RESOURCE = 1;
  private static final int RESOURCE_SPANS_SCOPE_SPANS = 2;
  private static final int SCOPE_SPANS_SCOPE = 1;
  private static final int SCOPE_SPANS_SPANS = 2;

  private SpanFrames() {}

  static List<SpanBatch> read(byte[] body) throws MalformedRequestException {
    try {
      List<SpanBatch> batches = new ArrayList<>();
      forEachField(body, 0, body.length, (field, start, length) -> {
        if (field == REQUEST_RESOURCE_SPANS) {
          readResourceSpans(body, start, length, batches);
        }
      });
      return batches;
    } catch (IOException e) {
      throw new MalformedRequestException("malformed protobuf: " + e.getMessage());
    }
  }

  private static void readResourceSpans(byte[] body, int offset, int length, List<SpanBatch> out)
      throws IOException, MalformedRequestException {
    Resource.Builder resource = Resource.newBuilder();
    List<int[]> scopeSpans = new ArrayList<>(2);
    forEachField(body, offset, length, (field, start, len) -> {
      if (field == RESOURCE_SPANS_RESOURCE) {
        resource.mergeFrom(body, start, len); // a repeated singular field merges, as protobuf says
      } else if (field == RESOURCE_SPANS_SCOPE_SPANS) {
        scopeSpans.add(new int[] {start, len});
      }
    });
    Resource built = resource.build();
    for (int[] slice : scopeSpans) {
      readScopeSpans(body, slice[0], slice[1], built, out);
    }
  }

  private static void readScopeSpans(byte[] body, int offset, int length, Resource resource, List<SpanBatch> out)
      throws IOException, MalformedRequestException {
    InstrumentationScope.Builder scope = InstrumentationScope.newBuilder();
    List<EncodedSpan> spans = new ArrayList<>();
    forEachField(body, offset, length, (field, start, len) -> {
      if (field == SCOPE_SPANS_SCOPE) {
        scope.mergeFrom(body, start, len);
      } else if (field == SCOPE_SPANS_SPANS) {
        Span span = Span.parser().parseFrom(body, start, len);
        SpanIds.check(span);
        spans.add(new EncodedSpan(span, body, start, len));
      }
    });
    out.add(new SpanBatch(resource, scope.build(), spans));
  }

  @FunctionalInterface
  private interface MessageField {
    void accept(int field, int start, int length) throws IOException, MalformedRequestException;
  }

  /**
   * Calls {@code action} for every length-delimited field of the message in {@code body[offset, offset +
   * length)}; skips the other fields (unknown ones included, as protobuf does) and refuses a field whose
   * wire type does not match what the schema gives the fields read here.
   */
  private static void forEachField(byte[] body, int offset, int length, MessageField action)
      throws IOException, MalformedRequestException {
    CodedInputStream in = CodedInputStream.newInstance(body, offset, length);
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        return;
      }
      int field = WireFormat.getTagFieldNumber(tag);
      if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        if (field == 1 || field == 2) {
          throw new InvalidProtocolBufferException("field " + field + " has wire type " + WireFormat.getTagWireType(tag)
              + ", expected a length-delimited message");
        }
        in.skipField(tag);
        continue;
      }
      int len = in.readRawVarint32();
      int start = offset + in.getTotalBytesRead();
      if (len < 0 || start + len > offset + length) {
        throw new InvalidProtocolBufferException("a field's length runs past the end of its message");
      }
      action.accept(field, start, len);
      in.skipRawBytes(len);
    }
  }
}
