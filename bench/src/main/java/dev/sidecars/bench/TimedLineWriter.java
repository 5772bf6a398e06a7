package dev.sidecars.bench;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.locks.LockSupport;

/**
 * An application logging at a steady rate, for the write-to-arrival latency benchmark: appends lines of
 * {@code lineBytes} bytes to a file at {@code linesPerSecond} for {@code seconds}, each starting with the
 * wall-clock time of its write in epoch microseconds (16 digits) and a sequence number, so a receiver on
 * the same machine ({@link LogCountingSink}) can compute arrival minus write time per line.
 *
 * <p>Lines due are written every half millisecond, each batch in one {@code write} (O_APPEND), as a
 * logger with a small buffer would. Prints {@code written N lines in S s} at the end.
 *
 * <p>Usage: {@code java -cp bench.jar dev.sidecars.bench.TimedLineWriter FILE [linesPerSecond=10000]
 * [seconds=30] [lineBytes=128]}
 */
public final class TimedLineWriter {
  private TimedLineWriter() {}

  public static void main(String[] args) throws IOException {
    String file = args[0];
    int rate = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 30;
    int lineBytes = args.length > 3 ? Integer.parseInt(args[3]) : 128;
    long total = (long) rate * seconds;
    String pad = "x".repeat(lineBytes);
    StringBuilder text = new StringBuilder();
    long written = 0;
    long start = System.nanoTime();
    try (FileOutputStream out = new FileOutputStream(file, true)) {
      while (written < total) {
        long due = Math.min(total, (System.nanoTime() - start) * rate / 1_000_000_000L);
        if (due > written) {
          Instant now = Instant.now();
          long micros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
          text.setLength(0);
          for (; written < due; written++) {
            int at = text.length();
            text.append(String.format("%016d %010d INFO latency line ", micros, written + 1));
            text.append(pad, 0, lineBytes - 1 - (text.length() - at)).append('\n');
          }
          out.write(text.toString().getBytes(StandardCharsets.US_ASCII));
        }
        LockSupport.parkNanos(500_000);
      }
    }
    System.out.printf("written %d lines in %.2f s%n", written, (System.nanoTime() - start) / 1e9);
  }
}
