package dev.sidecars.logforwarder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.testing.SidecarProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The log-forwarder jar's main as a user runs it: admin endpoints, readiness once tailing, SIGTERM, bad config. */
class LogForwarderMainTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension();

  @TempDir Path logs;
  @TempDir Path state;

  @Test
  void servesItsAdminPortIsReadyOnceTailingAndStopsWithExitZero() {
    try (SidecarProcess sidecar = SidecarProcess.start(LogForwarderMain.class, ForwarderHarness.env(collector, logs, state))) {
      assertThat(sidecar.startLine()).startsWith("log-forwarder ");
      assertThat(sidecar.admin("/healthz").statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(30)).until(() -> sidecar.admin("/readyz").statusCode() == 200);
      assertThat(sidecar.admin("/metrics").headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
      assertThat(sidecar.admin("/metrics").body()).contains("log_forwarder_lines_read_total");
      assertThat(sidecar.stop(Duration.ofSeconds(30))).isZero();
    }
  }

  @Test
  void refusesABadVariableWithExitTwo() {
    SidecarProcess.Result result = SidecarProcess.run(LogForwarderMain.class,
        Map.of("ADMIN_PORT", "admin", "LOG_PATHS", "/var/log/app/*.log"), Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).containsExactly("log-forwarder: ADMIN_PORT=\"admin\": expected a port number 0-65535 (0 picks a free port)");
  }

  @Test
  void namesEveryBadLogVariableAtOnce() {
    SidecarProcess.Result result = SidecarProcess.run(LogForwarderMain.class,
        Map.of("LOG_FORMAT", "(unclosed", "LOG_MAX_LINE_BYTES", "huge", "LOG_START_AT", "middle"), Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).hasSize(4).anySatisfy(l -> assertThat(l).startsWith("log-forwarder: LOG_PATHS=\"\": expected"))
        .anySatisfy(l -> assertThat(l).startsWith("log-forwarder: LOG_FORMAT=\"(unclosed\": expected"))
        .anySatisfy(l -> assertThat(l).startsWith("log-forwarder: LOG_MAX_LINE_BYTES=\"huge\": expected"))
        .anySatisfy(l -> assertThat(l).startsWith("log-forwarder: LOG_START_AT=\"middle\": expected"));
  }
}
