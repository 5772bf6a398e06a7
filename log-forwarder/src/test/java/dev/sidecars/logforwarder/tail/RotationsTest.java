package dev.sidecars.logforwarder.tail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.logforwarder.NumberedLines;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What happens to files after they are found, while the collector refuses (reading paused): deleted
 * files held until shipped, copy-truncate copies held from their creation, files gone after a restart
 * counted.
 */
class RotationsTest {
  @TempDir Path logs;
  @TempDir Path state;


  private static void append(Path file, String text) throws IOException {
    Files.write(file, text.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  private static void truncate(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.truncate(0);
    }
  }

  /** Every number from..to arrived exactly once (and nothing else). */
  private static void assertEachOnce(List<String> received, int from, int to) {
    Map<String, Integer> counts = new HashMap<>();
    received.forEach(b -> counts.merge(b.substring(5, 11), 1, Integer::sum));
    List<Integer> missing = IntStream.rangeClosed(from, to).filter(i -> !counts.containsKey(String.format("%06d", i))).boxed().toList();
    assertThat(missing).as("missing").isEmpty();
    assertThat(received).as("received").hasSize(to - from + 1);
  }

  private Pipeline refusing(String glob) {
    Pipeline pipeline = new Pipeline(logs + "/" + glob, state, Map.of());
    pipeline.accepting = false;
    await().atMost(Duration.ofSeconds(10)).until(pipeline::tailing);
    return pipeline;
  }

  @Test
  void aDeletedFileIsHeldShownAsHeldAndClosedOnlyOnceTheCollectorAcceptedEverythingInIt() throws Exception {
    Path app = logs.resolve("app.log");
    append(app, NumberedLines.of(1, 3000));
    long size = Files.size(app);
    try (Pipeline pipeline = refusing("*.log")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.gauge("log.forwarder.files.open") == 1);
      Files.move(app, logs.resolve("app.log.1"));
      Files.delete(logs.resolve("app.log.1"));
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.gauge("log.forwarder.held.deleted") == size);
      pipeline.accepting = true;
      await().atMost(Duration.ofSeconds(30)).until(() -> pipeline.received.size() >= 3000);
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.gauge("log.forwarder.held.deleted") == 0
          && pipeline.gauge("log.forwarder.files.open") == 0);
      assertEachOnce(pipeline.received, 1, 3000);
    }
  }

  /**
   * Copy-truncate while reading is paused, the copy outside the globs and rotated away before reading
   * resumes: only a copy held from its creation still has the lines the truncation took from the file.
   */
  @Test
  void aCopyTruncateCopyDeletedBeforeTheTruncationIsNoticedStillGivesItsLines() throws Exception {
    Path app = logs.resolve("app.log");
    append(app, NumberedLines.of(1, 3000));
    try (Pipeline pipeline = refusing("*.log")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.gauge("log.forwarder.files.open") == 1);
      Path copy = logs.resolve("app.log.1");
      Files.copy(app, copy);
      truncate(app);
      append(app, NumberedLines.of(3001, 3100));
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.gauge("log.forwarder.files.open") == 2); // the copy, held
      Files.delete(copy);
      pipeline.accepting = true;
      await().atMost(Duration.ofSeconds(30)).until(() -> pipeline.received.size() >= 3100);
      assertEachOnce(pipeline.received, 1, 3100);
      assertThat(pipeline.counter("log.forwarder.truncations.unrecovered")).isZero();
    }
  }

  /**
   * The file that replaced a rotated one is found empty and never read (reading paused) before it is
   * copy-truncated in turn: its content was never seen, so its copy cannot be known by fingerprint; it is
   * held as its possible copy and taken as the copy once the file's new first bytes differ from it.
   */
  @Test
  void aCopyOfAFileNeverReadIsHeldAndReadWhenTheFileTurnsOutTruncated() throws Exception {
    Path app = logs.resolve("app.log");
    append(app, NumberedLines.of(1, 3000));
    try (Pipeline pipeline = refusing("*.log")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.gauge("log.forwarder.files.open") == 1);
      Files.move(app, logs.resolve("app.log.1"));
      Files.createFile(app);
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.gauge("log.forwarder.files.open") == 2);
      append(app, NumberedLines.of(3001, 3100));
      Files.copy(app, logs.resolve("app.log.2"));
      truncate(app);
      append(app, NumberedLines.of(3101, 3200));
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.gauge("log.forwarder.files.open") == 3);
      Files.delete(logs.resolve("app.log.2"));
      Files.delete(logs.resolve("app.log.1"));
      pipeline.accepting = true;
      await().atMost(Duration.ofSeconds(30)).until(() -> pipeline.received.size() >= 3200);
      assertEachOnce(pipeline.received, 1, 3200);
    }
  }

  @Test
  void aFileGoneWhileTheForwarderWasDownIsCountedFromItsSavedPositionAndLoggedOnce() throws Exception {
    Path app = logs.resolve("app.log");
    append(app, NumberedLines.of(1, 1000));
    try (Pipeline pipeline = new Pipeline(logs + "/*.log", state, Map.of("LOG_BATCH_RECORDS", "100", "LOG_QUEUED_BATCHES", "1",
        "LOG_EXPORTS_IN_FLIGHT", "1"), 1)) {
      // One batch accepted, then the collector refuses: stopped with the rest unshipped, the position
      // stays after that batch.
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.received.size() >= 100);
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.counter("log.forwarder.sends.failed", "outcome", "retried") > 0);
    }
    String saved = Files.readString(state.resolve("checkpoints.json"));
    long offset = Long.parseLong(saved.replaceAll("(?s).*\"offset\":(\\d+).*", "$1"));
    assertThat(offset).isPositive().isLessThan(Files.size(app));
    long size = Files.size(app);
    Files.move(app, logs.resolve("app.log.1"));
    Files.delete(logs.resolve("app.log.1"));
    try (Pipeline restarted = new Pipeline(logs + "/*.log", state, Map.of())) {
      await().atMost(Duration.ofSeconds(10)).until(restarted::tailing);
      assertThat(restarted.counter("log.forwarder.unshipped.bytes.abandoned", "reason", "stopped")).isEqualTo(size - offset);
    }
  }
}
