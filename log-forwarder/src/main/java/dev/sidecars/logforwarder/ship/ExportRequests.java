package dev.sidecars.logforwarder.ship;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.sidecars.logforwarder.parse.WireRecord;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Writes the OTLP {@code ExportLogsServiceRequest} of a batch: one resource (the sidecar's), one scope (the
 * forwarder's), the records as they were made. The resource and scope are converted from the SDK's and
 * encoded once, here, as the SDK's exporter would write them; each request then only adds the lengths of
 * its nested messages around its records, as the generated classes would (a test checks the bytes).
 */
public final class ExportRequests {
  private static final int LENGTH_DELIMITED = 2;
  // ResourceLogs: resource = 1, scope_logs = 2, schema_url = 3. ScopeLogs: scope = 1, log_records = 2,
  // schema_url = 3. Each part below is its field encoded, tag included; a schema URL left empty is none.
  private final byte[] resourceField;
  private final byte[] resourceSchemaUrlField;
  private final byte[] scopeField;
  private final byte[] scopeSchemaUrlField;

  public ExportRequests(io.opentelemetry.sdk.resources.Resource resource, InstrumentationScopeInfo scope) {
    Resource r = Resource.newBuilder().addAllAttributes(keyValues(resource.getAttributes())).build();
    InstrumentationScope.Builder s = InstrumentationScope.newBuilder().setName(scope.getName())
        .addAllAttributes(keyValues(scope.getAttributes()));
    if (scope.getVersion() != null) {
      s.setVersion(scope.getVersion());
    }
    this.resourceField = ResourceLogs.newBuilder().setResource(r).build().toByteArray();
    this.resourceSchemaUrlField = ResourceLogs.newBuilder()
        .setSchemaUrl(resource.getSchemaUrl() == null ? "" : resource.getSchemaUrl()).build().toByteArray();
    this.scopeField = ScopeLogs.newBuilder().setScope(s).build().toByteArray();
    this.scopeSchemaUrlField = ScopeLogs.newBuilder()
        .setSchemaUrl(scope.getSchemaUrl() == null ? "" : scope.getSchemaUrl()).build().toByteArray();
  }

  /** The request carrying {@code records}, serialized into an array of its own. */
  public Encoded encode(List<LogRecord> records) {
    return append(null, records.stream().map(WireRecord::of).toList(), new RequestBuffers(0));
  }

  /**
   * Appends the request carrying {@code records} to {@code encoded} (null: none yet), in an array from
   * {@code buffers}. Serialized protobuf messages concatenated parse as one message whose repeated fields
   * are appended, so the result is one request with one {@code ResourceLogs} (same resource, same scope)
   * per appended part: records can be encoded while a batch fills, without holding all of them.
   */
  public Encoded append(Encoded encoded, List<WireRecord> records, RequestBuffers buffers) {
    if (records.isEmpty()) {
      return encoded;
    }
    int recordsSize = 0;
    for (WireRecord record : records) {
      recordsSize += field(2, record.serializedSize());
    }
    int scopeLogsSize = scopeField.length + recordsSize + scopeSchemaUrlField.length;
    int resourceLogsSize = resourceField.length + field(2, scopeLogsSize) + resourceSchemaUrlField.length;
    int size = field(1, resourceLogsSize);
    int offset = encoded == null ? 0 : encoded.length();
    byte[] bytes;
    if (encoded == null) {
      bytes = buffers.take(size);
    } else if (offset + size > encoded.bytes().length) {
      bytes = buffers.take(offset + size);
      System.arraycopy(encoded.bytes(), 0, bytes, 0, offset);
      buffers.give(encoded.bytes());
    } else {
      bytes = encoded.bytes();
    }
    CodedOutputStream out = CodedOutputStream.newInstance(bytes, offset, size);
    try {
      out.writeTag(1, LENGTH_DELIMITED);
      out.writeUInt32NoTag(resourceLogsSize);
      out.writeRawBytes(resourceField);
      out.writeTag(2, LENGTH_DELIMITED);
      out.writeUInt32NoTag(scopeLogsSize);
      out.writeRawBytes(scopeField);
      for (WireRecord record : records) {
        out.writeTag(2, LENGTH_DELIMITED);
        out.writeUInt32NoTag(record.serializedSize());
        record.writeTo(out);
      }
      out.writeRawBytes(scopeSchemaUrlField);
      out.writeRawBytes(resourceSchemaUrlField);
      out.checkNoSpaceLeft();
    } catch (IOException e) {
      // Room for exactly the sizes computed: a record that writes other than its size is a bug.
      throw new IllegalStateException("a record's encoding does not match its size", e);
    }
    return new Encoded(bytes, offset + size);
  }

  /** The encoded size of a length-delimited field holding {@code size} bytes. */
  private static int field(int number, int size) {
    return CodedOutputStream.computeTagSize(number) + CodedOutputStream.computeUInt32SizeNoTag(size) + size;
  }

  /** An encoded request: the first {@code length} bytes of {@code bytes}. */
  public record Encoded(byte[] bytes, int length) {}

  /** The records of a request made here (to split a batch the collector found too large). */
  public static List<LogRecord> records(byte[] request, int length) {
    try {
      return ExportLogsServiceRequest.parseFrom(ByteBuffer.wrap(request, 0, length)).getResourceLogsList().stream()
          .flatMap(r -> r.getScopeLogsList().stream())
          .flatMap(s -> s.getLogRecordsList().stream())
          .toList();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a request this forwarder encoded does not parse", e);
    }
  }

  static List<KeyValue> keyValues(Attributes attributes) {
    java.util.ArrayList<KeyValue> out = new java.util.ArrayList<>(attributes.size());
    attributes.forEach((key, value) -> out.add(KeyValue.newBuilder().setKey(key.getKey()).setValue(value(key, value)).build()));
    return out;
  }

  private static AnyValue value(AttributeKey<?> key, Object value) {
    AnyValue.Builder v = AnyValue.newBuilder();
    switch (key.getType()) {
      case STRING -> v.setStringValue((String) value);
      case BOOLEAN -> v.setBoolValue((Boolean) value);
      case LONG -> v.setIntValue((Long) value);
      case DOUBLE -> v.setDoubleValue((Double) value);
      case STRING_ARRAY, BOOLEAN_ARRAY, LONG_ARRAY, DOUBLE_ARRAY -> {
        ArrayValue.Builder array = ArrayValue.newBuilder();
        for (Object element : (List<?>) value) {
          AnyValue.Builder e = AnyValue.newBuilder();
          if (element instanceof String str) {
            e.setStringValue(str);
          } else if (element instanceof Boolean b) {
            e.setBoolValue(b);
          } else if (element instanceof Long l) {
            e.setIntValue(l);
          } else if (element instanceof Double d) {
            e.setDoubleValue(d);
          }
          array.addValues(e);
        }
        v.setArrayValue(array);
      }
      default -> v.setStringValue(String.valueOf(value));
    }
    return v.build();
  }
}
