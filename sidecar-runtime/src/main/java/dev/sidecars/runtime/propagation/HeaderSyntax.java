package dev.sidecars.runtime.propagation;

/**
 * What HTTP allows in a field (RFC 9110 section 5): names are tokens, values visible ASCII, spaces,
 * tabs and obs-text. Baggage read from one format can hold keys and values another format's header
 * cannot carry; they are left out rather than sent broken.
 */
final class HeaderSyntax {
  private HeaderSyntax() {}

  /** {@code 1*tchar}. */
  static boolean isToken(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!tchar) {
        return false;
      }
    }
    return true;
  }

  /** {@code field-value}: no control characters but tab, nothing beyond one byte. */
  static boolean isFieldValue(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
        return false;
      }
    }
    return true;
  }
}
