package dev.sidecars.logforwarder.tail;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Line bytes as text: ASCII fast, other UTF-8 checked; invalid bytes become U+FFFD and are reported. */
final class Utf8Text {
  private final CharsetDecoder strict =
      StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT);
  private boolean lastInvalid;

  String decode(byte[] bytes, int offset, int length) {
    lastInvalid = false;
    boolean ascii = true;
    for (int i = offset, end = offset + length; i < end; i++) {
      if (bytes[i] < 0) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return new String(bytes, offset, length, StandardCharsets.ISO_8859_1);
    }
    try {
      CharBuffer chars = strict.reset().decode(ByteBuffer.wrap(bytes, offset, length));
      return chars.toString();
    } catch (CharacterCodingException e) {
      lastInvalid = true;
      return new String(bytes, offset, length, StandardCharsets.UTF_8);
    }
  }

  /** Whether the last {@link #decode} replaced invalid bytes. */
  boolean lastInvalid() {
    return lastInvalid;
  }
}
