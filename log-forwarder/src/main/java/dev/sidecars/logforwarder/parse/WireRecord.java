package dev.sidecars.logforwarder.parse;

import com.google.protobuf.CodedOutputStream;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.io.IOException;

/**
 * One OTLP {@code LogRecord} as it is written into an export request: its encoded size, and its fields
 * written in the order and form the generated class writes them. The common plain text line is written
 * straight from its bytes ({@link PlainTextRecord}); every other record is a generated message ({@link
 * Message}).
 */
public sealed interface WireRecord permits PlainTextRecord, WireRecord.Message {
  /** The size of the encoded {@code LogRecord}, without its tag and length. */
  int serializedSize();

  /** Writes the {@code LogRecord}'s fields: {@link #serializedSize()} bytes. */
  void writeTo(CodedOutputStream out) throws IOException;

  /** The same record as a generated message (to split a batch, and in tests). */
  LogRecord message();

  /** A record already made with the generated classes. */
  static WireRecord of(LogRecord record) {
    return new Message(record);
  }

  /** A record made with the generated classes. */
  record Message(LogRecord message) implements WireRecord {
    @Override
    public int serializedSize() {
      return message.getSerializedSize();
    }

    @Override
    public void writeTo(CodedOutputStream out) throws IOException {
      message.writeTo(out);
    }
  }
}
