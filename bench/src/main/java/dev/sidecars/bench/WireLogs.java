package dev.sidecars.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Decodes an OTLP {@code ExportLogsServiceRequest} at the wire level: walks every resource, scope and log
 * record, reads each record's fields with the wire type the schema gives them, checks every string of a
 * record (body, severity text, attribute keys and string values) as UTF-8, and counts records and body
 * bytes, without building message objects. Malformed input throws, as a full parse would; fields a
 * record should not have are skipped, as a parser skips unknown fields. It is stricter than protobuf-java
 * in three ways a shipper should never meet: a record's known field with another wire type, groups, and
 * tags beyond 32 bits are refused.
 *
 * <p>It reads the array directly rather than through {@code CodedInputStream}, whose limit bookkeeping for
 * every nested message (five per record) was most of the sink's decoding time.
 */
final class WireLogs {
  /** What a request held, and when it was decoded (epoch microseconds). */
  record Counts(long records, long bodyBytes, long arrivedMicros) {}

  /** Receives each string body: the array, its offset and length, and the request's arrival time. */
  interface BodySink {
    void body(byte[] buf, int offset, int length, long arrivedMicros);
  }

  private static final int VARINT = 0;
  private static final int FIXED64 = 1;
  private static final int LEN = 2;
  private static final int FIXED32 = 5;
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private final byte[] buf;
  private final BodySink sink;
  private final long arrivedMicros;
  private int pos;
  private long records;
  private long bodyBytes;

  private WireLogs(byte[] buf, BodySink sink) {
    this.buf = buf;
    this.sink = sink;
    this.arrivedMicros = LogCountingSink.epochMicros();
  }

  static Counts count(byte[] request, BodySink sink) throws IOException {
    return count(request, request.length, sink);
  }

  /** {@link #count(byte[], BodySink)} of a request held in the first {@code length} bytes of {@code request}. */
  static Counts count(byte[] request, int length, BodySink sink) throws IOException {
    if (length < 0 || length > request.length) {
      throw new IllegalArgumentException("length " + length + " outside the array");
    }
    WireLogs w = new WireLogs(request, sink);
    w.request(length);
    return new Counts(w.records, w.bodyBytes, w.arrivedMicros);
  }

  /** Reads one embedded message that ends at {@code end}. */
  private interface Inside {
    void read(int end) throws IOException;
  }

  /** Reads a message up to {@code end}: each length-delimited {@code field} by {@code inside}, the others skipped. */
  private void each(int end, int field, Inside inside) throws IOException {
    int wanted = tag(field, LEN);
    while (pos < end) {
      int tag = readTag(end);
      if (tag == wanted) {
        int inner = lengthEnd(end);
        inside.read(inner);
      } else {
        skip(tag, end);
      }
    }
  }

  // ExportLogsServiceRequest.resource_logs (1) -> ResourceLogs.scope_logs (2) -> ScopeLogs.log_records (2)
  private void request(int end) throws IOException {
    each(end, 1, r -> each(r, 2, s -> each(s, 2, l -> {
      logRecord(l);
      records++;
    })));
  }

  private void logRecord(int end) throws IOException {
    while (pos < end) {
      int tag = readTag(end);
      int field = tag >>> 3;
      int wireType = tag & 7;
      switch (field) {
        case 1, 11 -> fixed(expect(field, wireType, FIXED64, 8), end); // time, observed time
        case 2, 7 -> { // severity, dropped attributes count
          expect(field, wireType, VARINT, 0);
          varint64(end);
        }
        case 8 -> fixed(expect(field, wireType, FIXED32, 4), end); // flags
        case 3, 12 -> { // severity text, event name
          expect(field, wireType, LEN, 0);
          utf8(lengthEnd(end));
        }
        case 9, 10 -> { // trace and span ids
          expect(field, wireType, LEN, 0);
          pos = lengthEnd(end);
        }
        case 5 -> { // body
          expect(field, wireType, LEN, 0);
          anyValue(lengthEnd(end), true);
        }
        case 6 -> { // attribute
          expect(field, wireType, LEN, 0);
          keyValue(lengthEnd(end));
        }
        default -> skip(tag, end);
      }
    }
  }

  private void keyValue(int end) throws IOException {
    while (pos < end) {
      int tag = readTag(end);
      if (tag == tag(1, LEN)) {
        utf8(lengthEnd(end));
      } else if (tag == tag(2, LEN)) {
        anyValue(lengthEnd(end), false);
      } else {
        skip(tag, end);
      }
    }
  }

  /** A value; its string is checked and, for a body, counted and handed to the sink. Nested ones are skipped. */
  private void anyValue(int end, boolean body) throws IOException {
    while (pos < end) {
      int tag = readTag(end);
      if (tag == tag(1, LEN)) {
        int stringEnd = lengthEnd(end);
        int offset = pos;
        utf8(stringEnd);
        if (body) {
          bodyBytes += stringEnd - offset;
          sink.body(buf, offset, stringEnd - offset, arrivedMicros);
        }
      } else {
        skip(tag, end);
      }
    }
  }

  /** Checks the bytes up to {@code end} as UTF-8 and moves past them; ASCII eight bytes at a time. */
  private void utf8(int end) throws IOException {
    int i = pos;
    for (; i + 8 <= end; i += 8) {
      if (((long) LONGS.get(buf, i) & 0x8080808080808080L) != 0) {
        break;
      }
    }
    for (; i < end && buf[i] >= 0; i++) {
      // ASCII tail
    }
    if (i < end && !UnsafeByteOperations.unsafeWrap(buf, i, end - i).isValidUtf8()) {
      throw new InvalidProtocolBufferException("string field is not UTF-8");
    }
    pos = end;
  }

  /** Reads a length and returns where the bytes it announces end, which must be within {@code end}. */
  private int lengthEnd(int end) throws IOException {
    int length = varint32(end);
    if (length < 0 || length > end - pos) {
      throw new InvalidProtocolBufferException("length-delimited field runs past the end of its message");
    }
    return pos + length;
  }

  private void skip(int tag, int end) throws IOException {
    switch (tag & 7) {
      case VARINT -> varint64(end);
      case FIXED64 -> fixed(8, end);
      case LEN -> pos = lengthEnd(end);
      case FIXED32 -> fixed(4, end);
      default -> throw new InvalidProtocolBufferException("wire type " + (tag & 7) + " in field " + (tag >>> 3));
    }
  }

  private void fixed(int bytes, int end) throws IOException {
    if (bytes > end - pos) {
      throw new InvalidProtocolBufferException("fixed-size field runs past the end of its message");
    }
    pos += bytes;
  }

  private int readTag(int end) throws IOException {
    long tag = varint64(end);
    if ((tag >>> 3) == 0 || tag > Integer.MAX_VALUE) { // field number 0 is invalid, as protobuf-java says
      throw new InvalidProtocolBufferException("invalid tag " + tag);
    }
    return (int) tag;
  }

  private int varint32(int end) throws IOException {
    return (int) varint64(end);
  }

  private long varint64(int end) throws IOException {
    long value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= end) {
        throw new InvalidProtocolBufferException("varint runs past the end of its message");
      }
      byte b = buf[pos++];
      value |= (long) (b & 0x7F) << shift;
      if (b >= 0) {
        return value;
      }
    }
    throw new InvalidProtocolBufferException("malformed varint");
  }

  private static int expect(int field, int wireType, int expected, int result) throws InvalidProtocolBufferException {
    if (wireType != expected) {
      throw new InvalidProtocolBufferException("field " + field + " has wire type " + wireType + ", expected " + expected);
    }
    return result;
  }

  private static int tag(int field, int wireType) {
    return (field << 3) | wireType;
  }
}
