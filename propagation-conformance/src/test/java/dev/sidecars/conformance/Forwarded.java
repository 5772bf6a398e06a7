package dev.sidecars.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The header lines the next hop received, names as they came on the wire. */
record Forwarded(List<Line> lines) {
  private static final Pattern TRACEPARENT = Pattern.compile("([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})");

  /** The first value of {@code name} (any case), or null. */
  String first(String name) {
    return lines.stream().filter(l -> l.name().equalsIgnoreCase(name)).map(Line::value).findFirst().orElse(null);
  }

  /** Every value of {@code name} (any case), one per line, in order. */
  List<String> all(String name) {
    return lines.stream().filter(l -> l.name().equalsIgnoreCase(name)).map(Line::value).toList();
  }

  /** The names as sent, once each. */
  List<String> names() {
    return lines.stream().map(Line::name).distinct().toList();
  }

  /** Lines whose name starts with {@code prefix} (any case). */
  List<Line> withPrefix(String prefix) {
    String lower = prefix.toLowerCase(Locale.ROOT);
    return lines.stream().filter(l -> l.name().toLowerCase(Locale.ROOT).startsWith(lower)).toList();
  }

  /** The one {@code traceparent} line, which must be well-formed version {@code 00}. */
  Traceparent traceparent() {
    List<String> all = all("traceparent");
    assertThat(all).as("exactly one traceparent line in %s", lines).hasSize(1);
    Matcher m = TRACEPARENT.matcher(all.get(0));
    assertThat(m.matches()).as("a well-formed traceparent: %s", all.get(0)).isTrue();
    return new Traceparent(m.group(1), m.group(2), m.group(3), Integer.parseInt(m.group(4), 16));
  }

  /** {@code traceparent} taken apart. */
  record Traceparent(String version, String traceId, String parentId, int flags) {
    boolean sampled() {
      return (flags & 0x01) != 0;
    }

    /** Level 2: the trace id's right-most 7 bytes are random. */
    boolean random() {
      return (flags & 0x02) != 0;
    }
  }
}
