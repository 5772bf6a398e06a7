package dev.sidecars.logforwarder;

import static dev.sidecars.logforwarder.ForwarderHarness.bodies;
import static dev.sidecars.logforwarder.ForwarderHarness.metric;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.Signal;
import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.testing.SidecarProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files rotating fast while the collector is away and the forwarder is killed, the forwarder as a child
 * process: the renamed and deleted files are the buffer, and the one bounded way of losing lines
 * ({@code LOG_MAX_OPEN_FILES}) is counted to the byte.
 */
class RotationOutageTest {
  private static final int BATCH = 500;
  // Every forwarder process a test started, whose log is printed when lines are missing.
  private static final List<SidecarProcess> STARTED = new java.util.concurrent.CopyOnWriteArrayList<>();

  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension(b -> b.maxLogs(2_000_000))
      .timeout(Duration.ofSeconds(60));

  @TempDir Path logs;
  @TempDir Path state;

  /**
   * The scenario of a busy app: rotated every 150 ms by rename and by copy-truncate in turn, nine old files
   * kept (the oldest deleted at each rotation, 1.35 s after it was rotated), killed twice with a rotation
   * while it is down, and fifteen 503 answers with {@code Retry-After: 1} in a row. With {@code app.log*}
   * the rotated files stay matched; with {@code *.log} they leave the globs at once.
   */
  @ParameterizedTest(name = "LOG_PATHS=<logs>/{0}")
  @ValueSource(strings = {"app.log*", "*.log"})
  void everyLineArrivesThroughFastRotationsAnOutageAndTwoSigkills(String glob) throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_PATHS", logs + "/" + glob);
    env.put("LOG_RESCAN_INTERVAL", "1s"); // the default: new files must not wait for it
    env.put("LOG_BATCH_RECORDS", String.valueOf(BATCH));
    Path live = logs.resolve("app.log");
    NumberedWriter writer = new NumberedWriter(live, 4);
    writer.write(1);
    Logrotate logrotate = new Logrotate(live, 9, writer);
    SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env);
    STARTED.add(forwarder);
    SidecarProcess first = forwarder;
    // The app starts once the forwarder follows its files: no tailer can see a file rotated away before it starts.
    await().atMost(Duration.ofSeconds(30)).until(() -> first.admin("/readyz").statusCode() == 200);
    try (NumberedWriter app = writer.start(); Logrotate rotating = logrotate.every(Duration.ofMillis(150))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> logrotate.rotations() >= 10);
      forwarder = killAndRestartWithARotationWhileDown(forwarder, logrotate, writer, env);
      awaitCaughtUp(writer);

      collector.throttle(Signal.LOGS, 503, 1, 15);
      await().atMost(Duration.ofSeconds(60)).until(() -> collector.stub().faults().list().isEmpty());
      forwarder = killAndRestartWithARotationWhileDown(forwarder, logrotate, writer, env);
      awaitCaughtUp(writer);
    }
    int written = writer.written();
    try {
      RotationTest.awaitCount(written, Duration.ofSeconds(60), collector);
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    } finally {
      forwarder.close();
    }
    List<String> bodies = bodies(collector);
    Map<Integer, Integer> counts = NumberedWriter.counts(bodies);
    List<Integer> missing = IntStream.rangeClosed(1, written).filter(i -> !counts.containsKey(i)).boxed().toList();
    if (!missing.isEmpty()) {
      logrotate.history().forEach(System.out::println);
      STARTED.forEach(p -> p.stderr().forEach(System.out::println));
    }
    assertThat(NumberedWriter.ranges(missing)).as("lines missing of %d after %d rotations", written, logrotate.rotations())
        .isEmpty();
    // Per kill: the batch being built, the queued ones, the ones in flight and the one whose positions
    // were being written (README, Guarantees).
    assertThat(bodies.size() - written).as("duplicates").isLessThanOrEqualTo(2 * (2 + 2 + 2) * BATCH);
  }

  /**
   * A 60 s outage while the live file is rotated by rename twenty times, two old files kept: the deleted
   * files are held open (and shown as held) until the collector accepted everything in them.
   */
  @Test
  void aMinuteOfOutageWithTwentyRotationsLosesNothingAndTheDeletedFilesAreHeldUntilShipped() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_PATHS", logs + "/*.log");
    env.put("LOG_BATCH_RECORDS", String.valueOf(BATCH));
    env.put("LOG_RETRY_MAX", "5s");
    Path live = logs.resolve("app.log");
    NumberedWriter writer = new NumberedWriter(live, 1);
    writer.write(1);
    Logrotate logrotate = new Logrotate(live, 2, writer);
    try (SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env)) {
      try (NumberedWriter app = writer.start()) {
        awaitCaughtUp(writer);
        collector.fail(Signal.LOGS, 503, 1_000_000);
        long outageEnds = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (Logrotate rotating = logrotate.every(Duration.ofMillis(2_900))) {
          await().atMost(Duration.ofSeconds(60)).until(() -> logrotate.rotations() >= 4);
          assertThat(metric(forwarder, "log_forwarder_held_deleted_bytes")).as("held while the collector is away")
              .isPositive();
          await().atMost(Duration.ofSeconds(90)).until(() -> logrotate.rotations() >= 20);
        }
        await().atMost(Duration.ofSeconds(61)).until(() -> System.nanoTime() >= outageEnds);
        assertThat(metric(forwarder, "log_forwarder_held_deleted_bytes")).isPositive();
        collector.stub().faults().clear();
        // Shipping resumes within LOG_RETRY_MAX (plus a batch's round trip).
        int before = bodies(collector).size();
        await().atMost(Duration.ofSeconds(8)).until(() -> bodies(collector).size() > before);
      }
      int written = writer.written();
      RotationTest.awaitCount(written, Duration.ofSeconds(60), collector);
      NumberedWriter.assertEachOnce(bodies(collector), written);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        assertThat(metric(forwarder, "log_forwarder_held_deleted_bytes")).as("nothing held once shipped").isZero();
        assertThat(metric(forwarder, "log_forwarder_files_open")).as("only app.log open").isEqualTo(1);
      });
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    }
  }

  /**
   * Four handles, ten rotations by rename (the previous file deleted at each) while the collector is away
   * and reading paused: some deleted files must be given up. Exactly their unread bytes are missing, counted
   * and logged with each file; every other line arrives.
   */
  @Test
  void withFourHandlesTheBytesOfTheDeletedFilesGivenUpAreCountedExactlyAndNothingElseIsLost() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_PATHS", logs + "/*.log");
    env.put("LOG_MAX_OPEN_FILES", "4");
    env.put("LOG_BATCH_RECORDS", "10");
    env.put("LOG_QUEUED_BATCHES", "1");
    env.put("LOG_EXPORTS_IN_FLIGHT", "1");
    Path live = logs.resolve("app.log");
    NumberedWriter writer = new NumberedWriter(live, 1);
    Logrotate logrotate = new Logrotate(live, 1, writer);
    writer.write(100);
    collector.fail(Signal.LOGS, 503, 1_000_000);
    try (SidecarProcess forwarder = SidecarProcess.start(LogForwarderMain.class, env)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> metric(forwarder, "log_forwarder_sends_failed_total") >= 2);
      for (int i = 1; i <= 10; i++) {
        logrotate.rotate(false);
        writer.write(100 + i); // files of different sizes: the least unread is given up first
        int opened = i;
        // Each new file is found and held before the next rotation (the forwarder's part is to be that fast).
        await().atMost(Duration.ofSeconds(10)).until(() -> metric(forwarder, "log_forwarder_files_watched") >= Math.min(opened, 4));
        assertThat(metric(forwarder, "log_forwarder_files_open")).isLessThanOrEqualTo(4);
      }
      double abandoned = await().atMost(Duration.ofSeconds(30))
          .until(() -> metric(forwarder, "log_forwarder_unshipped_bytes_abandoned_total"), v -> v > 0);
      collector.stub().faults().clear();
      int written = writer.written();
      AtomicReference<Map<Integer, Integer>> counts = new AtomicReference<>(Map.of());
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
        counts.set(NumberedWriter.counts(bodies(collector)));
        double lost = metric(forwarder, "log_forwarder_unshipped_bytes_abandoned_total");
        return (written - counts.get().size()) * NumberedLines.BYTES == lost;
      });
      double lost = metric(forwarder, "log_forwarder_unshipped_bytes_abandoned_total");
      assertThat(lost).isGreaterThanOrEqualTo(abandoned).isEqualTo((written - counts.get().size()) * (double) NumberedLines.BYTES);
      assertThat(counts.get().values()).as("nothing twice").allMatch(n -> n == 1);
      // Each file given up is logged by name with its unread bytes; together they are the counter.
      Pattern warning = Pattern.compile("(\\S+app\\.log\\S*) \\S+ was deleted with (\\d+) bytes not yet read");
      long logged = forwarder.stderr().stream().map(warning::matcher).filter(Matcher::find)
          .mapToLong(m -> Long.parseLong(m.group(2))).sum();
      assertThat(logged).as("bytes named in warnings: " + forwarder.stderr()).isEqualTo((long) lost);
      assertThat(forwarder.stop(Duration.ofSeconds(30))).isZero();
    }
  }

  /**
   * Kills the forwarder once it has shipped what was written (the lines still in flight are sent again,
   * within the bound), rotates once while it is down, and starts it again. Rotation pauses from just
   * before the wait, so the newest file has been read once before the kill: a file created and written
   * within a poll interval before a crash, then rotated away before the restart, is a documented limit.
   */
  private static SidecarProcess killAndRestartWithARotationWhileDown(SidecarProcess forwarder, Logrotate logrotate,
      NumberedWriter writer, Map<String, String> env) throws InterruptedException {
    logrotate.pause();
    awaitCaughtUp(writer);
    logrotate.note("SIGKILL");
    forwarder.process().destroyForcibly(); // SIGKILL: no drain, no final checkpoint
    assertThat(forwarder.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    logrotate.rotate(logrotate.rotations() % 2 == 1);
    SidecarProcess restarted = SidecarProcess.start(LogForwarderMain.class, env);
    STARTED.add(restarted);
    await().atMost(Duration.ofSeconds(30)).until(() -> restarted.admin("/readyz").statusCode() == 200);
    logrotate.resume();
    return restarted;
  }

  /**
   * Waits until the collector received every line written up to now, so a kill costs re-sends only: a file
   * deleted by rotation is held by the forwarder's handle alone, and a kill before its last lines were sent
   * loses them (counted and logged at the restart). Each number is checked, not how many arrived: the
   * writer goes on writing, and after an outage the live file's newest lines may arrive before the last
   * lines of files rotated during it (each file is read in turn), making up for them in a count.
   */
  private static void awaitCaughtUp(NumberedWriter writer) {
    int target = writer.written();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
      Map<Integer, Integer> counts = NumberedWriter.counts(bodies(collector));
      List<Integer> missing = IntStream.rangeClosed(1, target).filter(i -> !counts.containsKey(i)).boxed().toList();
      assertThat(NumberedWriter.ranges(missing)).as("lines not received of the %d written before the kill", target)
          .isEmpty();
    });
  }
}
