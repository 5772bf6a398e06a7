package dev.sidecars.runtime;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The first line every component of the suite prints once its ports are open, {@code metrics-proxy 0.1.0
 * listening on proxy=15001 admin=15090}, optionally followed by a comma and more for people ({@code , sending
 * OTLP to http://localhost:4318 (http/protobuf)}): written by the components, read by whatever starts them
 * on port 0 (tests, the demo launcher) to learn the ports they got.
 */
public final class StartLine {
  private static final String LISTENING = " listening on ";
  private static final String DETAIL = ", ";
  private static final Pattern PORT = Pattern.compile("([a-z][a-z0-9-]*)=(\\d+)");

  private StartLine() {}

  public static String format(String name, String version, Map<String, Integer> ports) {
    StringJoiner line = new StringJoiner(" ", name + " " + version + LISTENING, "");
    ports.forEach((port, number) -> line.add(port + "=" + number));
    return line.toString();
  }

  /** The start line with {@code detail} after the ports, e.g. where the component sends its telemetry. */
  public static String format(String name, String version, Map<String, Integer> ports, String detail) {
    return format(name, version, ports) + DETAIL + detail;
  }

  public static boolean isStartLine(String line) {
    return line != null && line.contains(LISTENING);
  }

  /** The ports named in {@code line}, in order; empty when it is not a start line. */
  public static Map<String, Integer> ports(String line) {
    Map<String, Integer> ports = new LinkedHashMap<>();
    int from = line.indexOf(LISTENING);
    if (from >= 0) {
      String rest = line.substring(from + LISTENING.length());
      int detail = rest.indexOf(DETAIL);
      Matcher m = PORT.matcher(detail < 0 ? rest : rest.substring(0, detail));
      while (m.find()) {
        ports.put(m.group(1), Integer.parseInt(m.group(2)));
      }
    }
    return Collections.unmodifiableMap(ports);
  }
}
