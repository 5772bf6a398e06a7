package dev.sidecars.bench;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code --key=value} command-line options, each read once; leftovers are an error. */
final class Args {
  private final Map<String, String> values = new LinkedHashMap<>();

  Args(String[] args) {
    for (String a : args) {
      if (a.equals("--help") || a.equals("-h")) {
        throw new IllegalArgumentException("usage");
      }
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("expected --key=value, got: " + a);
      }
      int eq = a.indexOf('=');
      values.put(eq < 0 ? a.substring(2) : a.substring(2, eq), eq < 0 ? "true" : a.substring(eq + 1));
    }
  }

  String string(String key, String dflt) {
    String v = values.remove(key);
    return v == null ? dflt : v;
  }

  boolean flag(String key) {
    return Boolean.parseBoolean(string(key, "false"));
  }

  int positive(String key, int dflt) {
    int n = Integer.parseInt(string(key, Integer.toString(dflt)));
    if (n <= 0) {
      throw new IllegalArgumentException("--" + key + " must be > 0");
    }
    return n;
  }

  double positiveDouble(String key, double dflt) {
    double n = Double.parseDouble(string(key, Double.toString(dflt)));
    if (!(n > 0)) {
      throw new IllegalArgumentException("--" + key + " must be > 0");
    }
    return n;
  }

  /** 500ms, 10s, 2m, or plain seconds. */
  Duration duration(String key, String dflt) {
    return OtlpLoad.Options.duration(string(key, dflt));
  }

  /** Throws if an option was given that nobody read. */
  void done() {
    if (!values.isEmpty()) {
      throw new IllegalArgumentException("unknown option(s): " + values.keySet());
    }
  }
}
