package dev.sidecars.conformance;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What a hop forwarded, in a form two hops' output can be compared in. Headers each proxy adds for its
 * own reasons ({@code X-Forwarded-*}, {@code X-Request-Id}, {@code Host}) are left out; everything else
 * is kept, names as sent and repeated lines in their order.
 */
final class Normalized {
  private static final Set<String> OWN_HEADERS = Set.of("host", "x-request-id", "forwarded", "via");

  private Normalized() {}

  /**
   * The lines compared: all but each proxy's own, grouped by name (case-insensitively, as Undertow lists
   * names in no set order) with repeated lines in their order; the hop's span id written {@code {span}},
   * and a trace id that is not the caller's written {@code {trace}} (its 64-bit form {@code {trace64}}).
   */
  static List<String> lines(String propagators, List<Line> input, Forwarded out) {
    String[] ids = ids(propagators, out);
    String given = input.stream().map(Line::value).collect(Collectors.joining(" ")).toLowerCase(Locale.ROOT);
    List<Line> kept = new ArrayList<>(out.lines().stream()
        .filter(l -> !OWN_HEADERS.contains(l.name().toLowerCase(Locale.ROOT))
            && !l.name().toLowerCase(Locale.ROOT).startsWith("x-forwarded-"))
        .toList());
    kept.sort(Comparator.comparing(l -> l.name().toLowerCase(Locale.ROOT)));
    List<String> result = new ArrayList<>();
    for (Line line : kept) {
      String value = line.value();
      if (ids != null) {
        value = value.replace(ids[1], "{span}");
        // 64-bit formats (a padded B3 or Jaeger id in, OT's id out) carry the right-most 16 digits.
        String trace = ids[0];
        String right = trace.substring(16);
        if (!given.contains(trace) && !given.contains(right)) {
          value = value.replace(trace, "{trace}").replace(right, "{trace64}");
        }
      }
      result.add(line.name() + ": " + value);
    }
    return result;
  }

  /** The trace and span id the hop sent, from the first format it writes. */
  private static String[] ids(String propagators, Forwarded out) {
    String w3c = out.first("traceparent");
    if (propagators.contains("tracecontext") && w3c != null) {
      return new String[] {w3c.substring(3, 35), w3c.substring(36, 52)};
    }
    if (propagators.contains("b3multi") && out.first("X-B3-TraceId") != null) {
      return new String[] {out.first("X-B3-TraceId"), out.first("X-B3-SpanId")};
    }
    String b3 = out.first("b3");
    return b3 == null ? null : new String[] {b3.substring(0, 32), b3.substring(33, 49)};
  }
}
