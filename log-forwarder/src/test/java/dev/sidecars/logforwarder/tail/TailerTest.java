package dev.sidecars.logforwarder.tail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.logforwarder.NumberedLines;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The read loop: reading pauses while the collector refuses, taking in new files does not; turns are fair. */
class TailerTest {
  @TempDir Path logs;
  @TempDir Path state;


  @Test
  void whileReadingIsPausedNewFilesAreTakenInAndHeldButNotRead() throws Exception {
    Files.write(logs.resolve("app.log"), NumberedLines.of(1, 5000).getBytes(StandardCharsets.UTF_8));
    try (Pipeline pipeline = new Pipeline(logs + "/*.log", state, Map.of("LOG_MAX_OPEN_FILES", "2"))) {
      pipeline.accepting = false;
      await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.counter("log.forwarder.sends.failed", "outcome", "retried") > 0);
      double read = pipeline.counter("log.forwarder.read");
      assertThat(read).as("reading paused far from the end").isLessThan(5000 * 44);
      for (int i = 0; i < 3; i++) {
        Path later = logs.resolve("later-" + i + ".log");
        Files.write(later, NumberedLines.of(10_001 + 100 * i, 10_100 + 100 * i).getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW);
        int followed = i + 2;
        await().atMost(Duration.ofSeconds(5)).until(() -> pipeline.gauge("log.forwarder.files.watched") == followed);
        Files.move(later, logs.resolve("later-" + i + ".old")); // out of the globs: only a held file is still read
        assertThat(pipeline.gauge("log.forwarder.files.open")).isLessThanOrEqualTo(2);
      }
      assertThat(pipeline.counter("log.forwarder.read")).as("still paused").isEqualTo(read);
      pipeline.accepting = true;
      await().atMost(Duration.ofSeconds(30)).until(() -> pipeline.received.size() >= 5300);
      assertThat(pipeline.received).hasSize(5300).doesNotHaveDuplicates();
    }
  }

  @Test
  void aBusyFileDoesNotStarveAQuietOne() throws Exception {
    Files.write(logs.resolve("busy.log"), NumberedLines.of(1, 60_000).getBytes(StandardCharsets.UTF_8)); // 2.6 MB: ten turns
    Files.write(logs.resolve("quiet.log"), NumberedLines.of(900_001, 900_001).getBytes(StandardCharsets.UTF_8));
    try (Pipeline pipeline = new Pipeline(logs + "/*.log", state, Map.of("LOG_BATCH_RECORDS", "1000"))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> pipeline.received.size() >= 60_001);
      // One turn is at most 256 KiB (about 6,000 of these lines): the quiet file's turn comes right after.
      assertThat(pipeline.received.indexOf("line 900001 padding-padding-padding-padding")).isBetween(0, 20_000);
    }
  }
}
