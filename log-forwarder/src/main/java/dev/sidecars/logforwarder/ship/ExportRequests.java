package dev.sidecars.logforwarder.ship;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
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
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Builds the OTLP {@code ExportLogsServiceRequest} of a batch with the generated protobuf classes: one
 * resource (the sidecar's), one scope (the forwarder's), the records as they were built. The resource
 * and scope are converted from the SDK's once, here, as the SDK's exporter would write them.
 */
public final class ExportRequests {
  private final Resource resource;
  private final String resourceSchemaUrl;
  private final InstrumentationScope scope;
  private final String scopeSchemaUrl;

  public ExportRequests(io.opentelemetry.sdk.resources.Resource resource, InstrumentationScopeInfo scope) {
    this.resource = Resource.newBuilder().addAllAttributes(keyValues(resource.getAttributes())).build();
    this.resourceSchemaUrl = resource.getSchemaUrl() == null ? "" : resource.getSchemaUrl();
    InstrumentationScope.Builder s = InstrumentationScope.newBuilder().setName(scope.getName())
        .addAllAttributes(keyValues(scope.getAttributes()));
    if (scope.getVersion() != null) {
      s.setVersion(scope.getVersion());
    }
    this.scope = s.build();
    this.scopeSchemaUrl = scope.getSchemaUrl() == null ? "" : scope.getSchemaUrl();
  }

  /** The request carrying {@code records}, serialized. */
  public byte[] encode(List<LogRecord> records) {
    return request(records).toByteArray();
  }

  /**
   * Appends the request carrying {@code records} to {@code encoded} (null: none yet), in an array from
   * {@code buffers}. Serialized protobuf messages concatenated parse as one message whose repeated fields
   * are appended, so the result is one request with one {@code ResourceLogs} (same resource, same scope)
   * per appended part: records can be encoded while a batch fills, without holding all of them.
   */
  public Encoded append(Encoded encoded, List<LogRecord> records, RequestBuffers buffers) {
    if (records.isEmpty()) {
      return encoded;
    }
    ExportLogsServiceRequest request = request(records);
    int size = request.getSerializedSize();
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
      request.writeTo(out);
      out.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // room for exactly the size: cannot happen
    }
    return new Encoded(bytes, offset + size);
  }

  /** An encoded request: the first {@code length} bytes of {@code bytes}. */
  public record Encoded(byte[] bytes, int length) {}

  private ExportLogsServiceRequest request(List<LogRecord> records) {
    return ExportLogsServiceRequest.newBuilder()
        .addResourceLogs(ResourceLogs.newBuilder()
            .setResource(resource)
            .setSchemaUrl(resourceSchemaUrl)
            .addScopeLogs(ScopeLogs.newBuilder()
                .setScope(scope)
                .setSchemaUrl(scopeSchemaUrl)
                .addAllLogRecords(records)))
        .build();
  }

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
