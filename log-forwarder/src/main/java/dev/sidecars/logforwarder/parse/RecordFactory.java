package dev.sidecars.logforwarder.parse;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;

/**
 * Turns one entry of a file into an OTLP log record as {@link LineFormat} says: JSON fields mapped to
 * body, severity, timestamp, trace context and attributes; text with its level word; regex groups
 * likewise. A plain text line becomes a {@link PlainTextRecord} written from its bytes; every other entry
 * a generated OTLP message. The resource and scope are added once per export request ({@code
 * ExportRequests}).
 */
public final class RecordFactory {
  /** Set on entries cut at {@code LOG_MAX_LINE_BYTES}. */
  public static final String TRUNCATED = "log.record.truncated";
  /** Set on entries whose bytes were not valid UTF-8 (bad bytes replaced by U+FFFD). */
  public static final String INVALID_UTF8 = "log.record.invalid_utf8";
  static final String PARSE_FAILED = "log.record.parse_failed";

  public static final String FILE_PATH = "log.file.path";
  public static final String FILE_NAME = "log.file.name";

  private static final Set<String> BODY = Set.of("msg", "message", "log", "body");
  private static final Set<String> LEVEL = Set.of("level", "severity", "lvl", "loglevel");
  private static final Set<String> TIME = Set.of("time", "timestamp", "@timestamp", "ts");
  private static final Set<String> TRACE_ID = Set.of("trace_id", "traceId", "traceid");
  private static final Set<String> SPAN_ID = Set.of("span_id", "spanId", "spanid");
  private static final AnyValue TRUE = AnyValue.newBuilder().setBoolValue(true).build();

  private final LineFormat format;
  private final LongSupplier clockNanos;
  private final ObjectMapper json = new ObjectMapper();

  public RecordFactory(LineFormat format, LongSupplier clockNanos) {
    this.format = format;
    this.clockNanos = clockNanos;
  }

  /** The entry of {@code text} as read now, from a file with {@code fileAttributes}. */
  public LogEntry entry(String text, boolean truncated, boolean invalidUtf8, FileAttributes fileAttributes) {
    return new LogEntry(text, null, truncated, invalidUtf8, fileAttributes, clockNanos.getAsLong());
  }

  /** The entry of one line's bytes (not yet checked as UTF-8), read at {@code observedEpochNanos} ({@link #now()}). */
  public LogEntry entry(byte[] line, boolean truncated, FileAttributes fileAttributes, long observedEpochNanos) {
    return new LogEntry(null, line, truncated, false, fileAttributes, observedEpochNanos);
  }

  /** The time records are stamped as observed with, in epoch nanoseconds. */
  public long now() {
    return clockNanos.getAsLong();
  }

  /**
   * The record of {@code entry}, to be written into an export request. Thread-safe: the encoding thread
   * calls it while the reading thread reads.
   */
  public WireRecord record(LogEntry entry) {
    if (entry.bytes() != null) {
      PlainTextRecord plain = plainText(entry);
      if (plain != null) {
        return plain;
      }
    }
    return WireRecord.of(parsed(entry));
  }

  /** The record of {@code entry} as a generated message. */
  public LogRecord create(LogEntry entry) {
    return record(entry).message();
  }

  private LogRecord parsed(LogEntry entry) {
    String text = entry.text();
    boolean invalidUtf8 = entry.invalidUtf8();
    if (entry.bytes() != null) {
      Utf8Text.Decoded decoded = Utf8Text.decode(entry.bytes(), 0, entry.bytes().length);
      text = decoded.text();
      invalidUtf8 = decoded.invalid();
    }
    boolean truncated = entry.truncated();
    FileAttributes fileAttributes = entry.fileAttributes();
    Fields fields = new Fields(text);
    switch (format.kind()) {
      case JSON -> {
        if (!parseJson(text, fields)) {
          fields.attributes().put(PARSE_FAILED, TRUE);
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
          fields.attributes().put(PARSE_FAILED, TRUE);
          textLevel(text, fields);
        }
      }
    }
    if (truncated) {
      fields.attributes().put(TRUNCATED, TRUE);
    }
    if (invalidUtf8) {
      fields.attributes().put(INVALID_UTF8, TRUE);
    }
    LogRecord.Builder record = LogRecord.newBuilder()
        .setTimeUnixNano(fields.timestamp)
        .setObservedTimeUnixNano(entry.observedEpochNanos())
        .setBody(AnyValue.newBuilder().setStringValueBytes(utf8(fields.body)));
    if (fields.severity != Severity.UNDEFINED_SEVERITY_NUMBER) {
      record.setSeverityNumberValue(fields.severity.getSeverityNumber());
    }
    if (fields.severityText != null) {
      record.setSeverityText(fields.severityText);
    }
    if (fields.traceId != null && fields.spanId != null
        && TraceId.isValid(fields.traceId) && SpanId.isValid(fields.spanId)) {
      record.setTraceId(ByteString.copyFrom(HexFormat.of().parseHex(fields.traceId)))
          .setSpanId(ByteString.copyFrom(HexFormat.of().parseHex(fields.spanId)))
          .setFlags(TraceFlags.getSampled().asByte());
    } else {
      if (fields.traceId != null) {
        fields.attributes().put("trace_id", string(fields.traceId));
      }
      if (fields.spanId != null) {
        fields.attributes().put("span_id", string(fields.spanId));
      }
    }
    if (fields.attributes == null) {
      record.addAllAttributes(fileAttributes.keyValues());
    } else {
      // The file's attributes win over fields of the same name, as they always did.
      for (KeyValue kv : fileAttributes.keyValues()) {
        fields.attributes.remove(kv.getKey());
      }
      fields.attributes.forEach((key, value) -> record.addAttributes(keyValue(key, value)));
      record.addAllAttributes(fileAttributes.keyValues());
    }
    return record.build();
  }

  /**
   * The record of a line read as text whose bytes are the body as they are: valid UTF-8, not JSON, and a
   * level word (if any) the bytes alone can find. Null for any other line, which then takes the general
   * path. This is the common line, so it is made without turning the line into a String and back.
   */
  private PlainTextRecord plainText(LogEntry entry) {
    byte[] line = entry.bytes();
    if (format.kind() != LineFormat.Kind.TEXT && (format.kind() != LineFormat.Kind.AUTO || !plainNotJson(line))) {
      return null;
    }
    Severities.Level level = Severities.findInText(line);
    if (level == Severities.UNDECIDED || !Utf8Text.isValid(line, 0, line.length)) {
      return null;
    }
    return new PlainTextRecord(line, entry.observedEpochNanos(), level, entry.truncated(), entry.fileAttributes());
  }

  /** Whether the line's first character that is not white space is ASCII and not {@code {}. */
  private static boolean plainNotJson(byte[] line) {
    for (byte b : line) {
      if (b < 0) {
        return false; // not ASCII: Character.isWhitespace decides, on the text
      }
      if (!Character.isWhitespace(b)) {
        return b != '{';
      }
    }
    return true;
  }

  private static KeyValue keyValue(String key, AnyValue value) {
    return KeyValue.newBuilder().setKey(key).setValue(value).build();
  }

  /**
   * The text's UTF-8 bytes, for a string field: protobuf then copies them as they are, where from a String
   * it measures and encodes it char by char. An ASCII line, the common case, takes the JDK's array copy.
   */
  private static ByteString utf8(String text) {
    return UnsafeByteOperations.unsafeWrap(text.getBytes(StandardCharsets.UTF_8));
  }

  private static AnyValue string(String value) {
    return AnyValue.newBuilder().setStringValue(value).build();
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

  private static void putJson(Map<String, AnyValue> attributes, String key, JsonNode value) {
    if (value.isTextual()) {
      attributes.put(key, string(value.asText()));
    } else if (value.isIntegralNumber() && value.canConvertToLong()) {
      attributes.put(key, AnyValue.newBuilder().setIntValue(value.asLong()).build());
    } else if (value.isNumber()) {
      attributes.put(key, AnyValue.newBuilder().setDoubleValue(value.asDouble()).build());
    } else if (value.isBoolean()) {
      attributes.put(key, AnyValue.newBuilder().setBoolValue(value.asBoolean()).build());
    } else if (!value.isNull()) {
      // Nested objects and arrays stay JSON text: flattening would invent key names.
      attributes.put(key, string(value.toString()));
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
        fields.attributes().put(group, string(value));
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
    // Most text lines carry only the file's attributes, shared by every record of the file: no map.
    // Insertion order, and a later value for the same key replaces the earlier one.
    Map<String, AnyValue> attributes;

    Fields(String text) {
      this.body = text;
    }

    Map<String, AnyValue> attributes() {
      if (attributes == null) {
        attributes = new LinkedHashMap<>();
      }
      return attributes;
    }
  }
}
