package dev.sidecars.logforwarder.parse;

import com.google.protobuf.UnsafeByteOperations;
import java.nio.charset.StandardCharsets;

/** Line bytes as text: invalid UTF-8 bytes become U+FFFD, and the result says so. */
public final class Utf8Text {
  /** The text of some bytes, and whether any of them were not valid UTF-8. */
  public record Decoded(String text, boolean invalid) {}

  private Utf8Text() {}

  public static Decoded decode(byte[] bytes, int offset, int length) {
    return new Decoded(new String(bytes, offset, length, StandardCharsets.UTF_8), !isValid(bytes, offset, length));
  }

  /**
   * Whether the bytes are valid UTF-8. protobuf's check reads eight bytes at a time while they are ASCII:
   * cheaper than a decoder that reports errors, and exact, where looking for U+FFFD after decoding would
   * blame a line that has one.
   */
  public static boolean isValid(byte[] bytes, int offset, int length) {
    return UnsafeByteOperations.unsafeWrap(bytes, offset, length).isValidUtf8();
  }
}
