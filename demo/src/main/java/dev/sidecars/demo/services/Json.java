package dev.sidecars.demo.services;

import java.util.Iterator;
import java.util.Map;

/**
 * Just enough JSON writing for the demo services' answers and log lines, so they need nothing but the JDK.
 * Values are strings, numbers, booleans, nested maps, or {@link Raw} text that is already JSON.
 */
public final class Json {
  private Json() {}

  /** Text that is already JSON, embedded as it is (e.g. an upstream's answer, unchanged). */
  public record Raw(String json) {}

  public static String object(Map<String, ?> fields) {
    StringBuilder out = new StringBuilder(128).append('{');
    Iterator<? extends Map.Entry<String, ?>> it = fields.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, ?> e = it.next();
      string(out, e.getKey());
      out.append(':');
      value(out, e.getValue());
      if (it.hasNext()) {
        out.append(',');
      }
    }
    return out.append('}').toString();
  }

  private static void value(StringBuilder out, Object value) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof Raw raw) {
      out.append(raw.json());
    } else if (value instanceof Number || value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof Map<?, ?> map) {
      @SuppressWarnings("unchecked")
      Map<String, ?> nested = (Map<String, ?>) map;
      out.append(object(nested));
    } else {
      string(out, value.toString());
    }
  }

  private static void string(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
