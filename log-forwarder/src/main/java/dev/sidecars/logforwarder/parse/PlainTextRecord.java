package dev.sidecars.logforwarder.parse;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.io.IOException;

/**
 * The record of a plain text line (valid UTF-8, not JSON, its level word found in its bytes), written
 * from the line's bytes field by field. This is the common line: building it as generated messages (two
 * builders, two messages and an attribute list per line) took most of the encoding thread's time, where
 * this writes the same bytes (checked against {@link #message()} in tests) with no object in between.
 */
final class PlainTextRecord implements WireRecord {
  private static final int LENGTH_DELIMITED = 2;
  private static final KeyValue TRUNCATED_TRUE = KeyValue.newBuilder().setKey(RecordFactory.TRUNCATED)
      .setValue(AnyValue.newBuilder().setBoolValue(true)).build();
  private static final byte[] TRUNCATED_ENCODED =
      LogRecord.newBuilder().addAttributes(TRUNCATED_TRUE).build().toByteArray();

  private final byte[] line;
  private final long observedEpochNanos;
  private final Severities.Level level;
  private final boolean truncated;
  private final FileAttributes fileAttributes;
  private final int bodySize;
  private final int size;

  /** The line must be valid UTF-8: a string field holds nothing else. */
  PlainTextRecord(byte[] line, long observedEpochNanos, Severities.Level level, boolean truncated,
      FileAttributes fileAttributes) {
    this.line = line;
    this.observedEpochNanos = observedEpochNanos;
    this.level = level;
    this.truncated = truncated;
    this.fileAttributes = fileAttributes;
    this.bodySize = CodedOutputStream.computeByteArraySize(1, line); // AnyValue.string_value, set even if empty
    int n = 0;
    int severity = level.severity().getSeverityNumber();
    if (severity != 0) {
      n += CodedOutputStream.computeEnumSize(2, severity);
    }
    if (!level.wordUtf8().isEmpty()) {
      n += CodedOutputStream.computeBytesSize(3, level.wordUtf8());
    }
    n += CodedOutputStream.computeTagSize(5) + CodedOutputStream.computeUInt32SizeNoTag(bodySize) + bodySize;
    if (truncated) {
      n += TRUNCATED_ENCODED.length;
    }
    n += fileAttributes.encodedSize();
    if (observedEpochNanos != 0) {
      n += CodedOutputStream.computeFixed64Size(11, observedEpochNanos);
    }
    this.size = n;
  }

  @Override
  public int serializedSize() {
    return size;
  }

  // Fields in field-number order, as the generated LogRecord.writeTo writes them.
  @Override
  public void writeTo(CodedOutputStream out) throws IOException {
    int severity = level.severity().getSeverityNumber();
    if (severity != 0) {
      out.writeEnum(2, severity);
    }
    if (!level.wordUtf8().isEmpty()) {
      out.writeBytes(3, level.wordUtf8());
    }
    out.writeTag(5, LENGTH_DELIMITED);
    out.writeUInt32NoTag(bodySize);
    out.writeByteArray(1, line);
    if (truncated) {
      out.writeRawBytes(TRUNCATED_ENCODED);
    }
    fileAttributes.writeTo(out);
    if (observedEpochNanos != 0) {
      out.writeFixed64(11, observedEpochNanos);
    }
  }

  @Override
  public LogRecord message() {
    LogRecord.Builder record = LogRecord.newBuilder()
        .setObservedTimeUnixNano(observedEpochNanos)
        .setBody(AnyValue.newBuilder().setStringValueBytes(ByteString.copyFrom(line)));
    if (level != Severities.NONE) {
      record.setSeverityNumberValue(level.severity().getSeverityNumber()).setSeverityTextBytes(level.wordUtf8());
    }
    if (truncated) {
      record.addAttributes(TRUNCATED_TRUE);
    }
    return record.addAllAttributes(fileAttributes.keyValues()).build();
  }
}
