package dev.sidecars.collector.store;

import com.google.protobuf.ByteString;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;

/** A 128-bit trace id as two longs: a cheap map key, shown as 32 lower-case hex digits. */
public record TraceId(long high, long low) {
  private static final HexFormat HEX = HexFormat.of();

  /** Reads OTLP's 16 bytes; anything else (absent, wrong length) is the invalid all-zero id. */
  public static TraceId of(ByteString bytes) {
    if (bytes.size() != 16) {
      return new TraceId(0, 0);
    }
    return new TraceId(readLong(bytes, 0), readLong(bytes, 8));
  }

  /** Parses hex, case-insensitive; shorter ids (Jaeger's 64-bit, or stripped zeros) are left-padded. */
  public static Optional<TraceId> parse(String hex) {
    String h = hex.toLowerCase(Locale.ROOT);
    if (h.isEmpty() || h.length() > 32 || !h.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
      return Optional.empty();
    }
    String padded = "0".repeat(32 - h.length()) + h;
    return Optional.of(
        new TraceId(Long.parseUnsignedLong(padded.substring(0, 16), 16), Long.parseUnsignedLong(padded.substring(16), 16)));
  }

  public boolean isValid() {
    return high != 0 || low != 0;
  }

  public String hex() {
    return HEX.toHexDigits(high) + HEX.toHexDigits(low);
  }

  static long readLong(ByteString bytes, int offset) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (bytes.byteAt(offset + i) & 0xff);
    }
    return v;
  }

  /** OTLP's 8-byte span id as a long (0 when absent). */
  public static long spanId(ByteString bytes) {
    return bytes.size() == 8 ? readLong(bytes, 0) : 0;
  }

  /** Hex of an OTLP id of any length; empty when absent. */
  public static String hex(ByteString bytes) {
    return HEX.formatHex(bytes.toByteArray());
  }

  @Override
  public String toString() {
    return hex();
  }
}
