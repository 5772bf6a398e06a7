package dev.sidecars.logforwarder;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An application writing numbered lines ({@code line 000042 ...}) to a path, opening it for each write
 * (O_APPEND) like a logger that reopens after rotation. The lock lets a test rotate between two writes,
 * as logrotate's copy-truncate window is outside what a tailer can close.
 */
final class NumberedWriter implements AutoCloseable {
  final ReentrantLock lock = new ReentrantLock();
  private final Path path;
  private final AtomicInteger written = new AtomicInteger();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread thread;

  NumberedWriter(Path path, int linesPerWrite) {
    this.path = path;
    this.thread = new Thread(() -> {
      while (running.get()) {
        write(linesPerWrite);
        // The application's pace (about a thousand writes a second), not a test waiting for something.
        LockSupport.parkNanos(1_000_000);
      }
    }, "numbered-writer");
  }

  NumberedWriter start() {
    thread.start();
    return this;
  }

  /** Writes the next {@code n} numbered lines in one append. */
  void write(int n) {
    lock.lock();
    try {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < n; i++) {
        text.append(NumberedLines.line(written.incrementAndGet())).append('\n');
      }
      Files.write(path, text.toString().getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      lock.unlock();
    }
  }

  int written() {
    return written.get();
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    thread.join(10_000);
  }

  /** How often each number arrived, from bodies like {@code line 000042 ...}. */
  static Map<Integer, Integer> counts(List<String> bodies) {
    Map<Integer, Integer> counts = new HashMap<>();
    for (String body : bodies) {
      if (body.startsWith("line ")) {
        counts.merge(Integer.parseInt(body.substring(5, 11)), 1, Integer::sum);
      }
    }
    return counts;
  }

  /** {@code [3-7, 9]}: a short form of many numbers. */
  static List<String> ranges(List<Integer> numbers) {
    List<String> out = new java.util.ArrayList<>();
    for (int i = 0; i < numbers.size(); ) {
      int j = i;
      while (j + 1 < numbers.size() && numbers.get(j + 1) == numbers.get(j) + 1) {
        j++;
      }
      out.add(i == j ? "" + numbers.get(i) : numbers.get(i) + "-" + numbers.get(j));
      i = j + 1;
    }
    return out;
  }

  /** Every number 1..written arrived exactly once. */
  static void assertEachOnce(List<String> bodies, int written) {
    Map<Integer, Integer> counts = counts(bodies);
    List<Integer> missing = java.util.stream.IntStream.rangeClosed(1, written).filter(i -> !counts.containsKey(i)).boxed().toList();
    assertThat(ranges(missing)).as("numbers missing of " + written + "; odd bodies: "
        + bodies.stream().filter(b -> b.length() != 43).map(b -> b.length() > 120 ? b.substring(0, 120) + "...(" + b.length() + ")" : b).limit(20).toList())
        .isEmpty();
    assertThat(counts.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList())
        .as("numbers received twice").isEmpty();
    assertThat(bodies).hasSize(written);
  }
}
