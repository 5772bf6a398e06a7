package dev.sidecars.bench;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.WireFormat;
import java.io.IOException;

/**
 * Decodes an OTLP {@code ExportLogsServiceRequest} at the wire level: walks every resource, scope and log
 * record, reads each record's fields with the wire type the schema gives them, checks every string of a
 * record (body, severity text, attribute keys and string values) as UTF-8, and counts records and body
 * bytes, without building message objects. Malformed input throws, as a full parse would; fields a
 * record should not have are skipped, as a parser skips unknown fields.
 */
final class WireLogs {
  /** What a request held, and when it was decoded (epoch microseconds). */
  record Counts(long records, long bodyBytes, long arrivedMicros) {}

  /** Receives each string body: the array, its offset and length, and the request's arrival time. */
  interface BodySink {
    void body(byte[] buf, int offset, int length, long arrivedMicros);
  }

  private final byte[] buf;
  private final CodedInputStream in;
  private final BodySink sink;
  private final long arrivedMicros;
  private long records;
  private long bodyBytes;

  private WireLogs(byte[] buf, BodySink sink) {
    this.buf = buf;
    this.in = CodedInputStream.newInstance(buf);
    this.sink = sink;
    this.arrivedMicros = LogCountingSink.epochMicros();
  }

  static Counts count(byte[] request, BodySink sink) throws IOException {
    WireLogs w = new WireLogs(request, sink);
    w.request();
    return new Counts(w.records, w.bodyBytes, w.arrivedMicros);
  }

  /** Reads a message's fields: each length-delimited {@code field} by {@code inside}, the others skipped. */
  private void each(int field, Inside inside) throws IOException {
    for (int tag; (tag = in.readTag()) != 0; ) {
      if (tag == lengthDelimited(field)) {
        int limit = in.pushLimit(in.readRawVarint32());
        inside.read();
        in.popLimit(limit);
      } else {
        in.skipField(tag);
      }
    }
  }

  /** Reads one embedded message, up to its limit. */
  private interface Inside {
    void read() throws IOException;
  }

  // ExportLogsServiceRequest.resource_logs (1) -> ResourceLogs.scope_logs (2) -> ScopeLogs.log_records (2)
  private void request() throws IOException {
    each(1, () -> each(2, () -> each(2, () -> {
      logRecord();
      records++;
    })));
  }

  private void logRecord() throws IOException {
    for (int tag; (tag = in.readTag()) != 0; ) {
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1, 11 -> expect(tag, WireFormat.WIRETYPE_FIXED64).readFixed64(); // time, observed time
        case 2, 7 -> expect(tag, WireFormat.WIRETYPE_VARINT).readRawVarint64(); // severity, dropped count
        case 8 -> expect(tag, WireFormat.WIRETYPE_FIXED32).readFixed32(); // flags
        case 3, 12 -> utf8(expect(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED).readRawVarint32()); // texts
        case 9, 10 -> in.skipRawBytes(expect(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED).readRawVarint32()); // ids
        case 5 -> { // body
          int limit = in.pushLimit(expect(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED).readRawVarint32());
          anyValue(true);
          in.popLimit(limit);
        }
        case 6 -> { // attribute
          int limit = in.pushLimit(expect(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED).readRawVarint32());
          keyValue();
          in.popLimit(limit);
        }
        default -> in.skipField(tag);
      }
    }
  }

  private void keyValue() throws IOException {
    for (int tag; (tag = in.readTag()) != 0; ) {
      if (tag == lengthDelimited(1)) {
        utf8(in.readRawVarint32());
      } else if (tag == lengthDelimited(2)) {
        int limit = in.pushLimit(in.readRawVarint32());
        anyValue(false);
        in.popLimit(limit);
      } else {
        in.skipField(tag);
      }
    }
  }

  /** A value; its string is checked and, for a body, counted and handed to the sink. Nested ones are skipped. */
  private void anyValue(boolean body) throws IOException {
    for (int tag; (tag = in.readTag()) != 0; ) {
      if (tag == lengthDelimited(1)) {
        int length = in.readRawVarint32();
        int offset = in.getTotalBytesRead();
        utf8(length);
        if (body) {
          bodyBytes += length;
          sink.body(buf, offset, length, arrivedMicros);
        }
      } else {
        in.skipField(tag);
      }
    }
  }

  /** Checks the next {@code length} bytes as UTF-8 and moves past them. */
  private void utf8(int length) throws IOException {
    int offset = in.getTotalBytesRead();
    if (length < 0 || offset + length > buf.length) {
      throw new InvalidProtocolBufferException("string field runs past the end of the message");
    }
    if (!UnsafeByteOperations.unsafeWrap(buf, offset, length).isValidUtf8()) {
      throw new InvalidProtocolBufferException("string field is not UTF-8");
    }
    in.skipRawBytes(length);
  }

  private CodedInputStream expect(int tag, int wireType) throws InvalidProtocolBufferException {
    if (WireFormat.getTagWireType(tag) != wireType) {
      throw new InvalidProtocolBufferException("field " + WireFormat.getTagFieldNumber(tag) + " has wire type "
          + WireFormat.getTagWireType(tag) + ", expected " + wireType);
    }
    return in;
  }

  private static int lengthDelimited(int field) {
    return (field << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;
  }
}
