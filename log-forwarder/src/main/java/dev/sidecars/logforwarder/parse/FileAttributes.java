package dev.sidecars.logforwarder.parse;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.util.List;

/**
 * The attributes every record of one file carries ({@code log.file.path}, {@code log.file.name}), built
 * once per file: as messages, which every record made with the generated classes shares, and as the
 * encoded attribute fields of a {@code LogRecord}, which a {@link PlainTextRecord} copies as they are.
 */
public final class FileAttributes {
  private final List<KeyValue> keyValues;
  private final byte[] encoded;

  private FileAttributes(List<KeyValue> keyValues) {
    this.keyValues = keyValues;
    // A LogRecord holding only these attributes is exactly their encoded fields, tags included.
    this.encoded = LogRecord.newBuilder().addAllAttributes(keyValues).build().toByteArray();
  }

  /** The attributes of the file at {@code path}, named {@code name}. */
  public static FileAttributes of(String path, String name) {
    // Held as UTF-8 bytes, which protobuf copies as they are, where a String is encoded again per record.
    return new FileAttributes(List.of(utf8KeyValue(RecordFactory.FILE_PATH, path),
        utf8KeyValue(RecordFactory.FILE_NAME, name)));
  }

  private static KeyValue utf8KeyValue(String key, String value) {
    return KeyValue.newBuilder().setKeyBytes(ByteString.copyFromUtf8(key))
        .setValue(AnyValue.newBuilder().setStringValueBytes(ByteString.copyFromUtf8(value))).build();
  }

  /** The attributes as messages, in the order records carry them. */
  public List<KeyValue> keyValues() {
    return keyValues;
  }

  int encodedSize() {
    return encoded.length;
  }

  void writeTo(CodedOutputStream out) throws java.io.IOException {
    out.writeRawBytes(encoded);
  }
}
