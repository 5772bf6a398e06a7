package dev.sidecars.runtime.propagation;

import java.util.ArrayList;
import java.util.List;

/**
 * What of a received W3C {@code tracestate} goes on, by the rules of Trace Context Level 2.
 *
 * <p>Why not OpenTelemetry's own parsing: {@code W3CTraceContextPropagator} checks keys against the
 * Level 1 grammar (a tenant part of at most 241 characters, a system part of at most 14, one {@code @}),
 * and drops the whole header for one member it rejects, for a duplicated key, or for a 33rd member. Level
 * 2 allows {@code @} anywhere after the first character, and a proxy should pass on what it can. Here:
 *
 * <ul>
 *   <li>the value is the header's fields combined with {@code ,} (RFC 9110 section 5.3; the caller
 *       combines them), members are separated by {@code ,}, spaces and tabs around members are not
 *       part of them, and empty members are skipped;
 *   <li>a key is {@code (lcalpha / DIGIT) 0*255(keychar)}, keychar {@code a-z 0-9 _ - * / @}; a value is
 *       1 to 256 printable ASCII characters without {@code ,} and {@code =}, not ending in a space;
 *   <li>a member that breaks these rules is dropped, and only it;
 *   <li>a repeated key keeps its first (left-most, most recent) member;
 *   <li>at most {@link #MAX_MEMBERS} members go on, the right-most ones are dropped;
 *   <li>beyond {@link #MAX_LENGTH} characters whole members are dropped: those longer than {@link
 *       #LARGE_MEMBER} characters first (right-most first), then from the right.
 * </ul>
 *
 * A header that needs none of this goes on exactly as received, without a copy.
 */
final class TraceStateHeader {
  /** Members allowed in one list. */
  static final int MAX_MEMBERS = 32;
  /** The propagated length: the spec asks to propagate at least 512 characters. */
  static final int MAX_LENGTH = 512;
  /** Members longer than this go first when the list must be shortened. */
  static final int LARGE_MEMBER = 128;
  private static final int MAX_KEY = 256;
  private static final int MAX_VALUE = 256;

  private TraceStateHeader() {}

  /**
   * The {@code tracestate} to send on for the combined received value, or {@code null} when no valid
   * member remains. The received string itself when it needs no change.
   */
  static String forwarded(String combined) {
    return asReceived(combined) ? combined : rebuilt(combined);
  }

  /**
   * Whether the value can go on unchanged: every member valid with no space around it, no empty member,
   * no repeated key, at most 32 members, at most 512 characters. Allocates nothing.
   */
  static boolean asReceived(String value) {
    int length = value.length();
    if (length == 0 || length > MAX_LENGTH) {
      return false;
    }
    int members = 0;
    int start = 0;
    while (true) {
      int end = value.indexOf(',', start);
      if (end < 0) {
        end = length;
      }
      int eq = validMember(value, start, end);
      if (eq < 0 || ++members > MAX_MEMBERS || repeatsAKey(value, start, eq)) {
        return false;
      }
      if (end == length) {
        return true;
      }
      start = end + 1;
    }
  }

  /** Whether the key in {@code [start, eq)} is the key of a member before {@code start}. */
  private static boolean repeatsAKey(String value, int start, int eq) {
    int keyLength = eq - start;
    int member = 0;
    while (member < start) {
      int otherEq = value.indexOf('=', member);
      if (otherEq - member == keyLength && value.regionMatches(member, value, start, keyLength)) {
        return true;
      }
      member = value.indexOf(',', otherEq) + 1;
    }
    return false;
  }

  /** The rules applied member by member, for a value that cannot go on as received. */
  private static String rebuilt(String value) {
    List<String> kept = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    int length = value.length();
    int start = 0;
    while (start <= length && kept.size() < MAX_MEMBERS) {
      int end = value.indexOf(',', start);
      if (end < 0) {
        end = length;
      }
      int from = start;
      int to = end;
      while (from < to && isOws(value.charAt(from))) {
        from++;
      }
      while (to > from && isOws(value.charAt(to - 1))) {
        to--;
      }
      int eq = from < to ? validMember(value, from, to) : -1;
      if (eq > 0) {
        String key = value.substring(from, eq);
        if (!keys.contains(key)) {
          keys.add(key);
          kept.add(value.substring(from, to));
        }
      }
      start = end + 1;
    }
    shorten(kept);
    return kept.isEmpty() ? null : String.join(",", kept);
  }

  /** Whole members removed until the list fits {@link #MAX_LENGTH}, in the order the spec recommends. */
  static void shorten(List<String> members) {
    int length = joinedLength(members);
    for (int i = members.size() - 1; i >= 0 && length > MAX_LENGTH; i--) {
      if (members.get(i).length() > LARGE_MEMBER) {
        length -= members.remove(i).length() + (members.isEmpty() ? 0 : 1);
      }
    }
    while (length > MAX_LENGTH) {
      length -= members.remove(members.size() - 1).length() + (members.isEmpty() ? 0 : 1);
    }
  }

  private static int joinedLength(List<String> members) {
    int length = Math.max(0, members.size() - 1);
    for (String member : members) {
      length += member.length();
    }
    return length;
  }

  /**
   * The index of the {@code =} of a valid {@code key=value} member in {@code [start, end)}, or -1.
   */
  static int validMember(String s, int start, int end) {
    int eq = s.indexOf('=', start);
    if (eq <= start || eq >= end || eq - start > MAX_KEY || end - eq - 1 > MAX_VALUE || end - eq - 1 < 1) {
      return -1;
    }
    char first = s.charAt(start);
    if (!isLcAlpha(first) && !isDigit(first)) {
      return -1;
    }
    for (int i = start + 1; i < eq; i++) {
      char c = s.charAt(i);
      if (!isLcAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '*' && c != '/' && c != '@') {
        return -1;
      }
    }
    for (int i = eq + 1; i < end; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e || c == ',' || c == '=') {
        return -1;
      }
    }
    return s.charAt(end - 1) == ' ' ? -1 : eq;
  }

  private static boolean isLcAlpha(char c) {
    return c >= 'a' && c <= 'z';
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isOws(char c) {
    return c == ' ' || c == '\t';
  }
}
