package dev.sidecars.logforwarder;

import static dev.sidecars.logforwarder.ForwarderHarness.append;
import static dev.sidecars.logforwarder.ForwarderHarness.bodies;
import static dev.sidecars.logforwarder.ForwarderHarness.metric;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.testing.SidecarProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The forwarder's state and inputs going wrong under it, black-box: the jar's main as a child process on
 * real files, asserting what it does, what it logs and counts, and that shipping goes on unharmed.
 */
class HardeningTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension().timeout(Duration.ofSeconds(60));

  @TempDir Path logs;
  @TempDir Path state;


  private long savedOffset(Path file) throws IOException {
    JsonNode files = new ObjectMapper().readTree(state.resolve("checkpoints.json").toFile()).get("files");
    for (JsonNode f : files) {
      if (f.get("path").asText().equals(file.toString())) {
        return f.get("offset").asLong();
      }
    }
    return -1;
  }

  /**
   * Deletes {@code dir} and everything in it. The running forwarder may write a positions file into it
   * between the walk and the last delete, so the walk is repeated until one pass empties it.
   */
  private static void deleteTree(Path dir) {
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
      try (Stream<Path> all = Files.walk(dir)) {
        for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
      return true;
    });
  }

  private static SidecarProcess started(Map<String, String> env) {
    SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env);
    await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.admin("/readyz").statusCode() == 200);
    return forwarder;
  }

  @Test
  void aStateDirectoryDeletedWhileRunningIsMadeAgainSoARestartSendsNothingTwice() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    Path file = logs.resolve("app.log");
    append(file, NumberedLines.of(1, 20));
    try (SidecarProcess forwarder = started(env)) {
      collector.awaitLogs(ForwarderHarness.SERVICE, 20);
      deleteTree(state);
      // Noticed even while no batch is accepted (the positions file is checked at every scan).
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> savedOffset(file) == Files.size(file));
      append(file, NumberedLines.of(21, 40));
      collector.awaitLogs(ForwarderHarness.SERVICE, 40);
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> savedOffset(file) == Files.size(file));
      assertThat(forwarder.stderr()).anySatisfy(l -> assertThat(l).contains("WARN", "had disappeared; created it again"));
      assertThat(forwarder.admin("/readyz").statusCode()).isEqualTo(200);
      assertThat(metric(forwarder, "log_forwarder_checkpoint_age_seconds")).isZero();
      forwarder.process().destroyForcibly(); // SIGKILL: what is on disk is all the next start knows
      assertThat(forwarder.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    append(file, NumberedLines.of(41, 50));
    try (SidecarProcess forwarder = started(env)) {
      collector.awaitLogs(ForwarderHarness.SERVICE, 50);
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10)).until(() -> bodies(collector).size() == 50);
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    }
    NumberedWriter.assertEachOnce(bodies(collector), 50);
  }

  @Test
  void whilePositionsCannotBeSavedTheForwarderIsNotReadyLogsAnErrorShowsTheAgeAndStillShips() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    Path file = logs.resolve("app.log");
    append(file, NumberedLines.of(1, 10));
    try (SidecarProcess forwarder = started(env)) {
      collector.awaitLogs(ForwarderHarness.SERVICE, 10);
      deleteTree(state);
      Files.writeString(state, "a file where the state directory was: it cannot be made again");
      append(file, NumberedLines.of(11, 20));
      collector.awaitLogs(ForwarderHarness.SERVICE, 20);
      await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.admin("/readyz").statusCode() == 503);
      assertThat(forwarder.admin("/readyz").body()).contains("cannot write checkpoints");
      await().atMost(Duration.ofSeconds(30)).until(() -> metric(forwarder, "log_forwarder_checkpoint_age_seconds") >= 1);
      assertThat(forwarder.stderr()).filteredOn(l -> l.contains("ERROR") && l.contains("cannot save read positions"))
          .hasSize(1);

      Files.delete(state); // the operator repairs it: positions are saved again, ready again
      await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.admin("/readyz").statusCode() == 200);
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> savedOffset(file) == Files.size(file));
      assertThat(metric(forwarder, "log_forwarder_checkpoint_age_seconds")).isZero();
      append(file, NumberedLines.of(21, 30));
      collector.awaitLogs(ForwarderHarness.SERVICE, 30);
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    }
    NumberedWriter.assertEachOnce(bodies(collector), 30);
  }

  /**
   * A damaged positions file with {@code LOG_START_AT=end}: what the files hold cannot be known to be
   * shipped, so it is read from the beginning (sent again rather than skipped), the damaged file is kept
   * beside, and the log says which files are read from where.
   */
  @Test
  void aDamagedPositionsFileIsKeptBesideAndWithStartAtEndNoLineIsSkipped() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_START_AT", "end");
    Path file = logs.resolve("app.log");
    append(file, NumberedLines.of(1, 30));
    String damaged = "{\"version\":1,\"files\":[{\"fingerprintLength\":1024,\"fingerprintSha";
    Files.writeString(state.resolve("checkpoints.json"), damaged);
    try (SidecarProcess forwarder = started(env)) {
      collector.awaitLogs(ForwarderHarness.SERVICE, 30);
      append(file, NumberedLines.of(31, 40));
      collector.awaitLogs(ForwarderHarness.SERVICE, 40);
      assertThat(forwarder.stderr()).anySatisfy(l -> assertThat(l).contains("WARN", "cannot read the saved positions",
          "checkpoints.json.damaged-"));
      assertThat(forwarder.stderr()).anySatisfy(l -> assertThat(l).contains(file.toString(), "from offset 0"));
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> savedOffset(file) == Files.size(file));
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    }
    try (Stream<Path> files = Files.list(state)) {
      assertThat(files.filter(p -> p.getFileName().toString().startsWith("checkpoints.json.damaged-")).toList())
          .singleElement().satisfies(p -> assertThat(Files.readString(p)).isEqualTo(damaged));
    }
    NumberedWriter.assertEachOnce(bodies(collector), 40);
  }

  /**
   * A matched file the forwarder may not read: one warning however many scans, counted on /metrics while
   * it matches, the other files shipped meanwhile, and read as soon as it may be. Root reads any file, so
   * as root the forwarder runs without the capabilities that let it (as it would in a container that
   * drops them).
   */
  @Test
  void aFileThatMayNotBeReadIsLoggedOnceCountedAndReadOnceItMayWhileTheOthersShip() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    Path secret = logs.resolve("secret.log");
    append(secret, "line 000001 padding-padding-padding-padding\n");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("---------"));
    Path app = logs.resolve("app.log");
    append(app, NumberedLines.of(2, 11));
    List<String> asUnprivileged = "root".equals(System.getProperty("user.name"))
        ? List.of("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all")
        : List.of();
    try (SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env, asUnprivileged)) {
      collector.awaitLogs(ForwarderHarness.SERVICE, 10);
      await().atMost(Duration.ofSeconds(30)).until(() -> metric(forwarder, "log_forwarder_files_unreadable") == 1);
      long scans = 5; // LOG_RESCAN_INTERVAL is 100 ms: the file is tried again at each
      await().during(Duration.ofMillis(scans * 100)).atMost(Duration.ofSeconds(5))
          .until(() -> metric(forwarder, "log_forwarder_files_unreadable") == 1);
      assertThat(forwarder.stderr()).filteredOn(l -> l.contains("permission denied")).singleElement().asString()
          .contains("WARN", secret.toString());
      append(app, NumberedLines.of(12, 20));
      collector.awaitLogs(ForwarderHarness.SERVICE, 19);

      Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-r--r--"));
      collector.awaitLogs(ForwarderHarness.SERVICE, 20);
      await().atMost(Duration.ofSeconds(30)).until(() -> metric(forwarder, "log_forwarder_files_unreadable") == 0);
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    }
    NumberedWriter.assertEachOnce(bodies(collector), 20);
  }
}
