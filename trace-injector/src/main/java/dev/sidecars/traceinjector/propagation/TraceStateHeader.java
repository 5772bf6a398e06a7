package dev.sidecars.traceinjector.propagation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The W3C {@code tracestate} header read exactly as the Trace Context specification describes it.
 *
 * <p>Why not OpenTelemetry's own parsing: {@code W3CTraceContextPropagator} reads only the first of
 * several {@code tracestate} header fields (the spec says they MUST be combined), and its key check is
 * the Level 1 grammar, so keys the current grammar allows (a key starting with a digit, a system part
 * longer than 14 characters, {@code @} anywhere) make it throw away the whole header. It never truncates
 * either. Here:
 *
 * <ul>
 *   <li>all header fields are combined with {@code ,} (RFC 7230 section 3.2.2);
 *   <li>empty and whitespace-only list members are skipped, spaces and tabs around members ignored;
 *   <li>a key is {@code (lcalpha / DIGIT) 0*255(keychar)}, keychar {@code a-z 0-9 _ - * / @};
 *   <li>a value is 1 to 256 printable ASCII characters without {@code ,} and {@code =}, not ending in
 *       a space;
 *   <li>more than 32 members, a repeated key, or any bad member make the whole header invalid;
 *   <li>when the combined header is longer than {@link #MAX_LENGTH} characters, whole entries are
 *       removed: entries longer than 128 characters first (right-most first), then from the right.
 * </ul>
 */
public final class TraceStateHeader {
  /** Members allowed in one list. */
  public static final int MAX_MEMBERS = 32;
  /** The propagated length, as the spec asks for "at least 512". */
  public static final int MAX_LENGTH = 512;
  /** Entries longer than this go first when truncating. */
  public static final int LARGE_ENTRY = 128;

  private static final Pattern KEY = Pattern.compile("[a-z0-9][a-z0-9_\\-*/@]{0,255}");

  private TraceStateHeader() {}

  /** The members of the combined header in order, or empty when the header is invalid. */
  public static Optional<Map<String, String>> parse(List<String> headerValues) {
    Map<String, String> members = new LinkedHashMap<>();
    for (String field : headerValues) {
      for (String raw : field.split(",", -1)) {
        String member = trimOws(raw);
        if (member.isEmpty()) {
          continue;
        }
        int eq = member.indexOf('=');
        if (eq <= 0) {
          return Optional.empty();
        }
        String key = member.substring(0, eq);
        String value = member.substring(eq + 1);
        if (!KEY.matcher(key).matches() || !validValue(value) || members.containsKey(key)) {
          return Optional.empty();
        }
        members.put(key, value);
        if (members.size() > MAX_MEMBERS) {
          return Optional.empty();
        }
      }
    }
    return Optional.of(truncate(members));
  }

  static boolean validValue(String value) {
    int n = value.length();
    if (n == 0 || n > 256 || value.charAt(n - 1) == ' ') {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c > 0x7e || c == ',' || c == '=') {
        return false;
      }
    }
    return true;
  }

  /** Whole entries removed until the serialized list fits, in the order the spec recommends. */
  static Map<String, String> truncate(Map<String, String> members) {
    if (length(members) <= MAX_LENGTH) {
      return members;
    }
    List<String> keys = new ArrayList<>(members.keySet());
    Map<String, String> kept = new LinkedHashMap<>(members);
    for (int i = keys.size() - 1; i >= 0 && length(kept) > MAX_LENGTH; i--) {
      String key = keys.get(i);
      if (key.length() + 1 + members.get(key).length() > LARGE_ENTRY) {
        kept.remove(key);
      }
    }
    for (int i = keys.size() - 1; i >= 0 && length(kept) > MAX_LENGTH; i--) {
      kept.remove(keys.get(i));
    }
    return kept;
  }

  /** The length of {@code k=v,k=v}, as it is sent. */
  static int length(Map<String, String> members) {
    int length = Math.max(0, members.size() - 1);
    for (Map.Entry<String, String> e : members.entrySet()) {
      length += e.getKey().length() + 1 + e.getValue().length();
    }
    return length;
  }

  private static String trimOws(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && (s.charAt(start) == ' ' || s.charAt(start) == '\t')) {
      start++;
    }
    while (end > start && (s.charAt(end - 1) == ' ' || s.charAt(end - 1) == '\t')) {
      end--;
    }
    return s.substring(start, end);
  }
}
