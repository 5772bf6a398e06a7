package dev.sidecars.collector.query;

import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.util.LinkedHashMap;
import java.util.Map;

/** A log record as the query API shows it. */
final class LogRecords {
  private LogRecords() {}

  static Map<String, Object> toJson(Received<LogRecord> r) {
    LogRecord log = r.item();
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("timeUnixNano", log.getTimeUnixNano());
    j.put("observedTimeUnixNano", log.getObservedTimeUnixNano());
    j.put("severityText", log.getSeverityText());
    j.put("severityNumber", log.getSeverityNumberValue());
    j.put("body", log.hasBody() ? AnyValues.toJson(log.getBody()) : null);
    j.put("attributes", AnyValues.toJson(log.getAttributesList()));
    j.put("resource", AnyValues.toJson(r.resource().getAttributesList()));
    Map<String, Object> scope = new LinkedHashMap<>();
    scope.put("name", r.scope().getName());
    scope.put("version", r.scope().getVersion());
    j.put("scope", scope);
    j.put("traceId", TraceId.hex(log.getTraceId()));
    j.put("spanId", TraceId.hex(log.getSpanId()));
    j.put("flags", log.getFlags());
    if (!log.getEventName().isEmpty()) {
      j.put("eventName", log.getEventName());
    }
    return j;
  }
}
