package dev.sidecars.logforwarder;

import static dev.sidecars.logforwarder.ForwarderHarness.bodies;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.runtime.Sidecar;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rotation while an application writes: rename-and-create and copy-truncate, with the rotated files
 * outside {@code LOG_PATHS}, so nothing but the forwarder's own handling keeps their lines.
 */
class RotationTest {
  private static final int ROTATIONS_EACH = 100;

  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension(b -> b.maxLogs(1_000_000)).timeout(Duration.ofSeconds(90));

  @TempDir Path logs;
  @TempDir Path state;

  @Test
  void everyNumberArrivesOnceThroughRenameAndCopyTruncateRotations() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_PATHS", logs.resolve("app.log").toString());
    Path live = logs.resolve("app.log");
    NumberedWriter writer = new NumberedWriter(live, 2);
    writer.write(1); // the file exists before the forwarder starts, so its first scan finds it
    try (Sidecar sidecar = Sidecar.start(new LogForwarderMain(), env); NumberedWriter running = writer) {
      writer.start();
      int mark = 0;
      for (int i = 1; i <= ROTATIONS_EACH * 2; i++) {
        // Rotate only a file the forwarder has seen: one created and rotated away between two scans is
        // invisible to any tailer. Lines keep coming, so each rotation still leaves unread bytes behind.
        int seen = mark;
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
            .until(() -> highestReceived() > seen);
        writer.lock.lock();
        try {
          mark = writer.written();
          if (i % 2 == 0) {
            Files.move(live, logs.resolve("app.log." + i), StandardCopyOption.ATOMIC_MOVE);
          } else {
            copyTruncate(live, logs.resolve("app.log." + i));
          }
        } finally {
          writer.lock.unlock();
        }
      }
      writer.close();
      int written = writer.written();
      awaitCount(written, Duration.ofSeconds(60));
      NumberedWriter.assertEachOnce(bodies(collector), written);
    }
  }

  @Test
  void aFileDeletedWhileItIsBeingReadIsReadToItsEndThroughTheOpenHandle() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_BATCH_RECORDS", "100");
    env.put("LOG_QUEUED_BATCHES", "1");
    Path file = logs.resolve("app.log");
    NumberedWriter writer = new NumberedWriter(file, 1000);
    for (int i = 0; i < 20; i++) {
      writer.write(1000);
    }
    // The collector refuses, so reading pauses a few batches in, far from the end of the file.
    collector.fail(dev.sidecars.collector.Signal.LOGS, 503, 1_000_000);
    try (Sidecar sidecar = Sidecar.start(new LogForwarderMain(), env)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> sidecar.registry().scrape().contains("log_forwarder_sends_failed_total{outcome=\"retried\"} 2"));
      Files.delete(file);
      collector.stub().faults().clear();
      awaitCount(writer.written(), Duration.ofSeconds(60));
      NumberedWriter.assertEachOnce(bodies(collector), writer.written());
    }
  }

  /** The highest number among the newest records: cheap enough to poll often. */
  private static int highestReceived() {
    return NumberedWriter.counts(collector.stub().store().logs().newest(ForwarderHarness.SERVICE, null, 100).stream()
            .map(r -> r.item().getBody().getStringValue()).toList())
        .keySet().stream().mapToInt(Integer::intValue).max().orElse(0);
  }

  /** Waits for {@code n} records; on time-out the assertion after it says which numbers are missing. */
  static void awaitCount(int n, Duration atMost) {
    awaitCount(n, atMost, collector);
  }

  /** Waits for {@code n} records at {@code collector}; on time-out the assertion after it says which are missing. */
  static void awaitCount(int n, Duration atMost, CollectorStubExtension collector) {
    try {
      await("records").atMost(atMost).pollInterval(Duration.ofMillis(200)).until(() -> bodies(collector).size() >= n);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      // the caller's assertion reports what is missing
    }
  }

  /** As logrotate's copytruncate: copy the file beside it, then cut the original to zero in place. */
  private static void copyTruncate(Path live, Path copy) throws IOException {
    Files.copy(live, copy);
    try (FileChannel channel = FileChannel.open(live, StandardOpenOption.WRITE)) {
      channel.truncate(0);
    }
  }
}
