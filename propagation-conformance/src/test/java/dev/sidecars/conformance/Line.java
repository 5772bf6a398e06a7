package dev.sidecars.conformance;

import java.util.ArrayList;
import java.util.List;

/** One header line, name as written on the wire. */
record Line(String name, String value) {
  /** Lines from {@code name, value, name, value, ...}, in order; a name may repeat. */
  static List<Line> lines(String... nameValue) {
    if (nameValue.length % 2 != 0) {
      throw new IllegalArgumentException("name, value pairs");
    }
    List<Line> lines = new ArrayList<>();
    for (int i = 0; i < nameValue.length; i += 2) {
      lines.add(new Line(nameValue[i], nameValue[i + 1]));
    }
    return lines;
  }

  @Override
  public String toString() {
    return name + ": " + value;
  }
}
