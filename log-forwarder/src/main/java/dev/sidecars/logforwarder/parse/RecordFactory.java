package dev.sidecars.logforwarder.parse;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;

/**
 * Turns one entry of a file into a log record as {@link LineFormat} says: JSON fields mapped to body,
 * severity, timestamp, trace context and attributes; text with its level word; regex groups likewise.
 */
public final class RecordFactory {
  /** Set on entries cut at {@code LOG_MAX_LINE_BYTES}. */
  public static final AttributeKey<Boolean> TRUNCATED = AttributeKey.booleanKey("log.record.truncated");
  /** Set on entries whose bytes were not valid UTF-8 (bad bytes replaced by U+FFFD). */
  public static final AttributeKey<Boolean> INVALID_UTF8 = AttributeKey.booleanKey("log.record.invalid_utf8");

  public static final AttributeKey<String> FILE_PATH = AttributeKey.stringKey("log.file.path");
  public static final AttributeKey<String> FILE_NAME = AttributeKey.stringKey("log.file.name");

  private static final Set<String> BODY = Set.of("msg", "message", "log", "body");
  private static final Set<String> LEVEL = Set.of("level", "severity", "lvl", "loglevel");
  private static final Set<String> TIME = Set.of("time", "timestamp", "@timestamp", "ts");
  private static final Set<String> TRACE_ID = Set.of("trace_id", "traceId", "traceid");
  private static final Set<String> SPAN_ID = Set.of("span_id", "spanId", "spanid");

  private final LineFormat format;
  private final Resource resource;
  private final InstrumentationScopeInfo scope;
  private final LongSupplier clockNanos;
  private final ObjectMapper json = new ObjectMapper();

  public RecordFactory(LineFormat format, Resource resource, InstrumentationScopeInfo scope, LongSupplier clockNanos) {
    this.format = format;
    this.resource = resource;
    this.scope = scope;
    this.clockNanos = clockNanos;
  }

  /** The file attributes every record of one file carries. */
  public static Attributes fileAttributes(String path, String name) {
    return Attributes.of(FILE_PATH, path, FILE_NAME, name);
  }

  public ForwardedLogRecord create(String text, boolean truncated, boolean invalidUtf8, Attributes fileAttributes) {
    Fields fields = new Fields(text);
    switch (format.kind()) {
      case JSON -> {
        if (!parseJson(text, fields)) {
          fields.attributes().put("log.record.parse_failed", true);
          textLevel(text, fields);
        }
      }
      case AUTO -> {
        if (!looksLikeJson(text) || !parseJson(text, fields)) {
          textLevel(text, fields);
        }
      }
      case TEXT -> textLevel(text, fields);
      case REGEX -> {
        if (!parseRegex(text, fields)) {
          fields.attributes().put("log.record.parse_failed", true);
          textLevel(text, fields);
        }
      }
    }
    if (truncated) {
      fields.attributes().put(TRUNCATED, true);
    }
    if (invalidUtf8) {
      fields.attributes().put(INVALID_UTF8, true);
    }
    SpanContext context = SpanContext.getInvalid();
    if (fields.traceId != null && fields.spanId != null
        && TraceId.isValid(fields.traceId) && SpanId.isValid(fields.spanId)) {
      context = SpanContext.create(fields.traceId, fields.spanId, TraceFlags.getSampled(), TraceState.getDefault());
    } else {
      if (fields.traceId != null) {
        fields.attributes().put("trace_id", fields.traceId);
      }
      if (fields.spanId != null) {
        fields.attributes().put("span_id", fields.spanId);
      }
    }
    return new ForwardedLogRecord(
        resource, scope, fields.timestamp, clockNanos.getAsLong(), context, fields.severity, fields.severityText,
        fields.body, fields.attributes == null ? fileAttributes : fields.attributes.putAll(fileAttributes).build());
  }

  private static boolean looksLikeJson(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (!Character.isWhitespace(c)) {
        return c == '{';
      }
    }
    return false;
  }

  private boolean parseJson(String text, Fields fields) {
    JsonNode node;
    try {
      node = json.readTree(text);
    } catch (JsonProcessingException e) {
      return false;
    }
    if (!(node instanceof ObjectNode object)) {
      return false;
    }
    boolean hasBody = false;
    for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String key = field.getKey();
      JsonNode value = field.getValue();
      if (!hasBody && BODY.contains(key) && value.isValueNode()) {
        fields.body = value.asText();
        hasBody = true;
      } else if (fields.severity == Severity.UNDEFINED_SEVERITY_NUMBER && LEVEL.contains(key) && value.isValueNode()) {
        fields.severityText = value.asText();
        fields.severity = value.isNumber() ? Severities.ofNumber(value.asLong()) : Severities.of(value.asText());
      } else if (fields.timestamp == 0 && TIME.contains(key) && Timestamps.parse(value) != 0) {
        fields.timestamp = Timestamps.parse(value);
      } else if (TRACE_ID.contains(key) && value.isTextual()) {
        fields.traceId = value.asText().toLowerCase(Locale.ROOT);
      } else if (SPAN_ID.contains(key) && value.isTextual()) {
        fields.spanId = value.asText().toLowerCase(Locale.ROOT);
      } else {
        putJson(fields.attributes(), key, value);
      }
    }
    return true;
  }

  private static void putJson(AttributesBuilder attributes, String key, JsonNode value) {
    if (value.isTextual()) {
      attributes.put(key, value.asText());
    } else if (value.isIntegralNumber() && value.canConvertToLong()) {
      attributes.put(key, value.asLong());
    } else if (value.isNumber()) {
      attributes.put(key, value.asDouble());
    } else if (value.isBoolean()) {
      attributes.put(key, value.asBoolean());
    } else if (!value.isNull()) {
      // Nested objects and arrays stay JSON text: flattening would invent key names.
      attributes.put(key, value.toString());
    }
  }

  private boolean parseRegex(String text, Fields fields) {
    Matcher m = format.regex().orElseThrow().matcher(text);
    if (!m.matches()) {
      return false;
    }
    for (String group : format.groups()) {
      String value = m.group(group);
      if (value == null) {
        continue;
      }
      if (BODY.contains(group)) {
        fields.body = value;
      } else if (LEVEL.contains(group)) {
        fields.severityText = value;
        fields.severity = Severities.of(value);
      } else if (TIME.contains(group)) {
        fields.timestamp = Timestamps.parse(value);
      } else if (TRACE_ID.contains(group)) {
        fields.traceId = value.toLowerCase(Locale.ROOT);
      } else if (SPAN_ID.contains(group)) {
        fields.spanId = value.toLowerCase(Locale.ROOT);
      } else {
        fields.attributes().put(group, value);
      }
    }
    return true;
  }

  private static void textLevel(String text, Fields fields) {
    String[] found = Severities.findInText(text);
    if (found != null) {
      fields.severityText = found[0];
      fields.severity = Severity.valueOf(found[1]);
    }
  }

  /** The fields of one record while it is being read. */
  private static final class Fields {
    String body;
    Severity severity = Severity.UNDEFINED_SEVERITY_NUMBER;
    String severityText;
    long timestamp;
    String traceId;
    String spanId;
    // Most text lines carry only the file's attributes, shared by every record of the file: no builder.
    AttributesBuilder attributes;

    Fields(String text) {
      this.body = text;
    }

    AttributesBuilder attributes() {
      if (attributes == null) {
        attributes = Attributes.builder();
      }
      return attributes;
    }
  }
}
