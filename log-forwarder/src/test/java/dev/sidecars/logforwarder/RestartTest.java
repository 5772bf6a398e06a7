package dev.sidecars.logforwarder;

import static dev.sidecars.logforwarder.ForwarderHarness.append;
import static dev.sidecars.logforwarder.ForwarderHarness.bodies;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.runtime.Sidecar;
import dev.sidecars.testing.SidecarProcess;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Stops of every kind: SIGKILL mid-stream, rotation while down, SIGTERM with a partial line. */
class RestartTest {
  private static final int KILLS = 3;
  private static final int BATCH = 100;
  private static final int QUEUED = 2;
  private static final int IN_FLIGHT = 2;

  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension().timeout(Duration.ofSeconds(60));

  @TempDir Path logs;
  @TempDir Path state;


  private static int highestReceived() {
    return NumberedWriter.counts(bodies(collector)).keySet().stream().mapToInt(Integer::intValue).max().orElse(0);
  }

  @Test
  void sigkillMidStreamLosesNothingAndResendsAtMostTheUnacknowledgedBatches() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_BATCH_RECORDS", String.valueOf(BATCH));
    env.put("LOG_QUEUED_BATCHES", String.valueOf(QUEUED));
    env.put("LOG_EXPORTS_IN_FLIGHT", String.valueOf(IN_FLIGHT));
    NumberedWriter writer = new NumberedWriter(logs.resolve("app.log"), 5);
    writer.write(1);
    try (NumberedWriter running = writer.start()) {
      for (int kill = 0; kill < KILLS; kill++) {
        try (SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env)) {
          int before = highestReceived();
          await().atMost(Duration.ofSeconds(60)).until(() -> highestReceived() > before + 500);
          forwarder.process().destroyForcibly(); // SIGKILL: no drain, no final checkpoint
          assertThat(forwarder.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
      }
    }
    int written = writer.written();
    try (SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env)) {
      await().atMost(Duration.ofSeconds(90)).until(() -> NumberedWriter.counts(bodies(collector)).size() >= written);
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    }
    Map<Integer, Integer> counts = NumberedWriter.counts(bodies(collector));
    assertThat(IntStream.rangeClosed(1, written).filter(i -> !counts.containsKey(i)).boxed().toList()).isEmpty();
    int duplicates = bodies(collector).size() - written;
    // Per kill: the batch being built, the queued ones and the one in flight.
    assertThat(duplicates).isLessThanOrEqualTo(KILLS * (QUEUED + IN_FLIGHT + 1) * BATCH);
  }

  @Test
  void filesRotatedWhileTheForwarderIsDownAreReadToTheirEndAfterRestart() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    Path renamed = logs.resolve("a.log");
    Path copied = logs.resolve("b.log");
    env.put("LOG_PATHS", renamed + "," + copied);
    append(renamed, NumberedLines.of(1, 100));
    append(copied, NumberedLines.of(1001, 1100));
    try (Sidecar sidecar = Sidecar.start(new LogForwarderMain(), env)) {
      collector.awaitLogs(ForwarderHarness.SERVICE, 200);
    }
    // While down: more lines, then each file rotated out of LOG_PATHS, then new lines in the new files.
    append(renamed, NumberedLines.of(101, 150));
    Files.move(renamed, logs.resolve("a.log.1"));
    append(renamed, NumberedLines.of(151, 200));
    append(copied, NumberedLines.of(1101, 1150));
    Files.copy(copied, logs.resolve("b.log.1"));
    try (FileChannel channel = FileChannel.open(copied, StandardOpenOption.WRITE)) {
      channel.truncate(0);
    }
    append(copied, NumberedLines.of(1151, 1200));
    try (Sidecar sidecar = Sidecar.start(new LogForwarderMain(), env)) {
      collector.awaitLogs(ForwarderHarness.SERVICE, 400);
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10)).until(() -> bodies(collector).size() == 400);
    }
    Map<Integer, Integer> counts = NumberedWriter.counts(bodies(collector));
    assertThat(counts.keySet()).containsExactlyInAnyOrderElementsOf(
        IntStream.concat(IntStream.rangeClosed(1, 200), IntStream.rangeClosed(1001, 1200)).boxed().toList());
    assertThat(counts.values()).allMatch(n -> n == 1);
  }

  @Test
  void sigtermShipsThePartialLastLineWaitsForTheCollectorAndWritesCheckpoints() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_FLUSH_AFTER", "1h"); // only the drain can ship the partial line
    Path file = logs.resolve("app.log");
    try (SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.admin("/readyz").statusCode() == 200);
      append(file, NumberedLines.of(1, 50) + "last words without newline");
      collector.awaitLogs(ForwarderHarness.SERVICE, 50);
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    }
    assertThat(bodies(collector)).hasSize(51).last().isEqualTo("last words without newline");
    JsonNode files = new ObjectMapper().readTree(state.resolve("checkpoints.json").toFile()).get("files");
    assertThat(files).hasSize(1);
    assertThat(files.get(0).get("offset").asLong()).isEqualTo(Files.size(file));
  }

  /**
   * With {@code LOG_START_AT=end} a file seen empty must still be known after a restart: the lines
   * written to it while the forwarder was down are new, not a backlog to skip. Killed: the position
   * must already be on disk; stopped: the drain writes it.
   */
  @ParameterizedTest(name = "killed={0}")
  @ValueSource(booleans = {true, false})
  void aFileSeenEmptyAndWrittenWhileDownIsReadFromItsStartAfterRestart(boolean killed) throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_START_AT", "end");
    Path empty = logs.resolve("app.log");
    Path old = logs.resolve("old.log");
    Files.createFile(empty);
    append(old, "backlog written before the first start\n"); // start-at-end skips it, before and after
    try (SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.admin("/readyz").statusCode() == 200);
      if (killed) {
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> savedPaths().contains(empty.toString()));
        forwarder.process().destroyForcibly();
        assertThat(forwarder.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      } else {
        assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
      }
    }
    append(empty, NumberedLines.of(1, 20));
    try (SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env)) {
      collector.awaitLogs(ForwarderHarness.SERVICE, 20);
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10)).until(() -> bodies(collector).size() == 20);
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    }
    NumberedWriter.assertEachOnce(bodies(collector), 20);
  }

  private java.util.List<String> savedPaths() throws java.io.IOException {
    JsonNode files = new ObjectMapper().readTree(state.resolve("checkpoints.json").toFile()).get("files");
    java.util.List<String> paths = new java.util.ArrayList<>();
    files.forEach(f -> paths.add(f.get("path").asText()));
    return paths;
  }
}
