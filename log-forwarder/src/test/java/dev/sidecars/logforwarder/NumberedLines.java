package dev.sidecars.logforwarder;

import java.util.stream.IntStream;

/** The numbered lines the tests write ({@code line 000042 padding...}, 44 bytes each), as {@link NumberedWriter} writes them. */
public final class NumberedLines {
  /** The length of one line, newline included. */
  public static final int BYTES = 44;

  private NumberedLines() {}

  /** Lines {@code from} to {@code to}, each ended by a newline. */
  public static String of(int from, int to) {
    StringBuilder text = new StringBuilder();
    IntStream.rangeClosed(from, to).forEach(i -> text.append(line(i)).append('\n'));
    return text.toString();
  }

  /** Line {@code n} without its newline, as a record's body. */
  public static String line(int n) {
    return String.format("line %06d padding-padding-padding-padding", n);
  }
}
