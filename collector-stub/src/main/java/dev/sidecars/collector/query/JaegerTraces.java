package dev.sidecars.collector.query;

import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Spans in Jaeger's query JSON shape, mapped as Jaeger's own OTLP translator does: kind, status and
 * scope become tags, events become logs, the parent and links become references, resources become
 * processes.
 */
final class JaegerTraces {
  private JaegerTraces() {}

  static Map<String, Object> trace(List<Received<Span>> spans) {
    Map<Resource, String> processIds = new LinkedHashMap<>();
    Map<String, Object> processes = new LinkedHashMap<>();
    List<Map<String, Object>> jaegerSpans = new ArrayList<>(spans.size());
    for (Received<Span> r : spans) {
      String processId = processIds.computeIfAbsent(r.resource(), res -> {
        String id = "p" + (processIds.size() + 1);
        processes.put(id, process(res));
        return id;
      });
      jaegerSpans.add(span(r, processId));
    }
    Map<String, Object> trace = new LinkedHashMap<>();
    trace.put("traceID", spans.isEmpty() ? "" : TraceId.hex(spans.get(0).item().getTraceId()));
    trace.put("spans", jaegerSpans);
    trace.put("processes", processes);
    trace.put("warnings", null);
    return trace;
  }

  private static Map<String, Object> process(Resource resource) {
    List<KeyValue> others = new ArrayList<>();
    String service = "unknown_service";
    for (KeyValue kv : resource.getAttributesList()) {
      if (kv.getKey().equals("service.name")) {
        service = kv.getValue().getStringValue();
      } else {
        others.add(kv);
      }
    }
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("serviceName", service);
    p.put("tags", AnyValues.tags(others));
    return p;
  }

  private static Map<String, Object> span(Received<Span> r, String processId) {
    Span s = r.item();
    String traceId = TraceId.hex(s.getTraceId());
    List<Map<String, Object>> references = new ArrayList<>();
    if (!s.getParentSpanId().isEmpty()) {
      references.add(reference("CHILD_OF", traceId, TraceId.hex(s.getParentSpanId())));
    }
    for (Span.Link link : s.getLinksList()) {
      references.add(reference("FOLLOWS_FROM", TraceId.hex(link.getTraceId()), TraceId.hex(link.getSpanId())));
    }
    List<Map<String, Object>> tags = AnyValues.tags(s.getAttributesList());
    if (s.getKind() != Span.SpanKind.SPAN_KIND_UNSPECIFIED && s.getKind() != Span.SpanKind.UNRECOGNIZED) {
      tags.add(AnyValues.tag("span.kind", "string",
          s.getKind().name().substring("SPAN_KIND_".length()).toLowerCase(Locale.ROOT)));
    }
    if (!r.scope().getName().isEmpty()) {
      tags.add(AnyValues.tag("otel.scope.name", "string", r.scope().getName()));
    }
    if (!r.scope().getVersion().isEmpty()) {
      tags.add(AnyValues.tag("otel.scope.version", "string", r.scope().getVersion()));
    }
    Status status = s.getStatus();
    if (status.getCode() == Status.StatusCode.STATUS_CODE_ERROR) {
      tags.add(AnyValues.tag("otel.status_code", "string", "ERROR"));
      tags.add(AnyValues.tag("error", "bool", true));
    } else if (status.getCode() == Status.StatusCode.STATUS_CODE_OK) {
      tags.add(AnyValues.tag("otel.status_code", "string", "OK"));
    }
    if (!status.getMessage().isEmpty()) {
      tags.add(AnyValues.tag("otel.status_description", "string", status.getMessage()));
    }
    if (!s.getTraceState().isEmpty()) {
      tags.add(AnyValues.tag("w3c.tracestate", "string", s.getTraceState()));
    }
    List<Map<String, Object>> logs = new ArrayList<>();
    for (Span.Event event : s.getEventsList()) {
      List<Map<String, Object>> fields = new ArrayList<>();
      fields.add(AnyValues.tag("event", "string", event.getName()));
      fields.addAll(AnyValues.tags(event.getAttributesList()));
      Map<String, Object> log = new LinkedHashMap<>();
      log.put("timestamp", event.getTimeUnixNano() / 1000);
      log.put("fields", fields);
      logs.add(log);
    }
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("traceID", traceId);
    j.put("spanID", TraceId.hex(s.getSpanId()));
    j.put("operationName", s.getName());
    j.put("references", references);
    j.put("startTime", s.getStartTimeUnixNano() / 1000);
    j.put("duration", Math.max(0, s.getEndTimeUnixNano() - s.getStartTimeUnixNano()) / 1000);
    j.put("tags", tags);
    j.put("logs", logs);
    j.put("processID", processId);
    j.put("flags", s.getFlags());
    j.put("warnings", null);
    return j;
  }

  private static Map<String, Object> reference(String type, String traceId, String spanId) {
    Map<String, Object> ref = new LinkedHashMap<>();
    ref.put("refType", type);
    ref.put("traceID", traceId);
    ref.put("spanID", spanId);
    return ref;
  }
}
