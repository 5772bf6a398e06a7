package dev.sidecars.collector.ingest;

import dev.sidecars.collector.store.EncodedSpan;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.ArrayList;
import java.util.List;

/** The spans of one resource and scope in an export request, each with its encoding. */
record SpanBatch(Resource resource, InstrumentationScope scope, List<EncodedSpan> spans) {
  SpanBatch {
    spans = List.copyOf(spans);
  }

  /** The batches of a request that arrived decoded (gRPC or JSON); refused when a span's ids have the wrong length. */
  static List<SpanBatch> of(ExportTraceServiceRequest request) throws MalformedRequestException {
    List<SpanBatch> batches = new ArrayList<>();
    for (ResourceSpans rs : request.getResourceSpansList()) {
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        List<EncodedSpan> spans = new ArrayList<>(ss.getSpansCount());
        for (Span span : ss.getSpansList()) {
          SpanIds.check(span);
          spans.add(EncodedSpan.of(span));
        }
        batches.add(new SpanBatch(rs.getResource(), ss.getScope(), spans));
      }
    }
    return batches;
  }
}
