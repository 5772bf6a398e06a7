package dev.sidecars.logforwarder;

import static dev.sidecars.logforwarder.ForwarderHarness.append;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import dev.sidecars.runtime.Sidecar;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A thousand files at once through 32 handles, found by a {@code **} glob minus an exclusion. */
class ManyFilesTest {
  private static final int FILES = 1000;
  private static final int LINES = 3;

  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension().timeout(Duration.ofSeconds(90));

  @TempDir Path logs;
  @TempDir Path state;

  @Test
  void aThousandFilesWrittenAtOnceAreAllReadWithABoundedNumberOfHandles() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_PATHS", logs + "/**/*.log");
    env.put("LOG_EXCLUDE", "*.skip.log");
    env.put("LOG_MAX_OPEN_FILES", "32");
    try (Sidecar sidecar = Sidecar.start(new LogForwarderMain(), env)) {
      append(logs.resolve("top.log"), "top level file\n"); // "/**/" also matches no directory
      append(logs.resolve("noise.skip.log"), "excluded\n");
      for (int f = 0; f < FILES; f++) {
        Path dir = logs.resolve("pod-" + (f % 20));
        Files.createDirectories(dir);
        StringBuilder text = new StringBuilder();
        for (int l = 0; l < LINES; l++) {
          text.append("file ").append(f).append(" line ").append(l).append('\n');
        }
        append(dir.resolve("c" + f + ".log"), text.toString());
      }
      int expected = FILES * LINES + 1;
      List<Received<LogRecord>> records = collector.awaitLogs(ForwarderHarness.SERVICE, expected);
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
          .until(() -> collector.logs(ForwarderHarness.SERVICE).size() == expected);
      Set<String> bodies = collector.logs(ForwarderHarness.SERVICE).stream()
          .map(r -> r.item().getBody().getStringValue()).collect(Collectors.toSet());
      assertThat(bodies).hasSize(expected).contains("top level file", "file 999 line 2").doesNotContain("excluded");
      assertThat(sidecar.registry().scrape()).contains("log_forwarder_files_watched " + (FILES + 1) + ".0");
      String open = sidecar.registry().scrape().lines().filter(l -> l.startsWith("log_forwarder_files_open ")).findFirst().orElseThrow();
      assertThat(Double.parseDouble(open.substring(open.indexOf(' ') + 1))).isLessThanOrEqualTo(32);
      assertThat(records).isNotEmpty();
    }
  }

  @Test
  void filesRenamedWhileTheirHandlesAreClosedForTheLimitAreStillReadToTheirEnd() throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector, logs, state);
    env.put("LOG_MAX_OPEN_FILES", "1"); // three files, one handle: two are always closed
    try (Sidecar sidecar = Sidecar.start(new LogForwarderMain(), env)) {
      for (String name : List.of("a", "b", "c")) {
        append(logs.resolve(name + ".log"), name + " before\n");
      }
      collector.awaitLogs(ForwarderHarness.SERVICE, 3);

      for (String name : List.of("a", "b", "c")) {
        Path rotated = logs.resolve(name + ".log.1"); // outside LOG_PATHS
        Files.move(logs.resolve(name + ".log"), rotated);
        append(rotated, name + " after\n");
      }

      collector.awaitLogs(ForwarderHarness.SERVICE, 6);
      assertThat(ForwarderHarness.bodies(collector))
          .containsExactlyInAnyOrder("a before", "b before", "c before", "a after", "b after", "c after");
    }
  }
}
