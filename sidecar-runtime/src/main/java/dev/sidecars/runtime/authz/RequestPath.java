package dev.sidecars.runtime.authz;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The form of a request path that authorization compares with policy prefixes. Applications and
 * frameworks read paths in different ways (percent-decoding, {@code ..} segments, {@code //}, {@code ;}
 * path parameters, backslashes), and a policy checked on the raw text could be bypassed by writing a
 * protected path in a form the policy does not recognise but the application does (a known class of
 * proxy authorization bugs). So the path is read the way the most lenient application would: decoded
 * once, backslashes as slashes, {@code ;params} cut from each segment, empty and {@code .} segments
 * dropped, {@code ..} resolved. A request then falls under a prefix whenever some application could read
 * it as under that prefix. A path that cannot be read (a bad escape, invalid UTF-8, a NUL, {@code ..}
 * above the root, not starting with {@code /}) has no form: it is denied.
 */
final class RequestPath {
  private RequestPath() {}

  /** The canonical path ({@code /a/b}, or {@code /} for the root), or null when the path is unreadable. */
  static String canonical(String raw) {
    if (raw == null) {
      return null;
    }
    String path = raw;
    if (path.startsWith("http://") || path.startsWith("https://")) { // absolute form (RFC 9112 3.2.2)
      int slash = path.indexOf('/', path.indexOf("//") + 2);
      path = slash < 0 ? "/" : path.substring(slash);
    }
    int end = path.length();
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '?' || c == '#') {
        end = i;
        break;
      }
    }
    path = path.substring(0, end);
    if (!path.startsWith("/")) {
      return null;
    }
    if (isPlain(path)) {
      return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }
    String decoded = decode(path);
    if (decoded == null || decoded.indexOf('\0') >= 0) {
      return null;
    }
    Deque<String> segments = new ArrayDeque<>();
    for (String segment : decoded.replace('\\', '/').split("/", -1)) {
      int semicolon = segment.indexOf(';');
      String name = semicolon < 0 ? segment : segment.substring(0, semicolon);
      if (name.isEmpty() || name.equals(".")) {
        continue;
      }
      if (name.equals("..")) {
        if (segments.isEmpty()) {
          return null;
        }
        segments.removeLast();
        continue;
      }
      segments.addLast(name);
    }
    return segments.isEmpty() ? "/" : "/" + String.join("/", segments);
  }

  /** No escape, backslash, parameter, empty segment or dot segment: already canonical (most requests). */
  private static boolean isPlain(String path) {
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '%' || c == '\\' || c == ';' || c < 0x20 || c >= 0x7f) {
        return false;
      }
      if (c == '/' && i + 1 < path.length()) {
        char next = path.charAt(i + 1);
        if (next == '/' || next == '.' && (i + 2 == path.length() || path.charAt(i + 2) == '/'
            || path.charAt(i + 2) == '.' && (i + 3 == path.length() || path.charAt(i + 3) == '/'))) {
          return false;
        }
      }
    }
    return true;
  }

  /** Percent-decodes once and reads the bytes as UTF-8; null on a malformed escape or invalid UTF-8. */
  private static String decode(String path) {
    if (path.indexOf('%') < 0) {
      return path;
    }
    ByteBuffer bytes = ByteBuffer.allocate(path.length() * 3);
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '%') {
        if (i + 2 >= path.length()) {
          return null;
        }
        int high = Character.digit(path.charAt(i + 1), 16);
        int low = Character.digit(path.charAt(i + 2), 16);
        if (high < 0 || low < 0) {
          return null;
        }
        bytes.put((byte) (high << 4 | low));
        i += 2;
      } else if (c <= 0xff) {
        bytes.put((byte) c); // HTTP codecs hand over each byte of the request line as one char
      } else {
        bytes.put(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
      }
    }
    bytes.flip();
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(bytes)
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
