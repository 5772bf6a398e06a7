package dev.sidecars.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A taken port of the demo's block is reported first, by variable, number and owner, before anything starts. */
class PortBlockTest {
  @TempDir Path home;

  @Test
  void everyFixedPortIsNamedWithItsVariableAndOwner() {
    DemoTopology topology = new DemoTopology(DemoSettings.from(Settings.of(Map.of()), home, Map.of()));

    assertThat(topology.fixedPorts()).extracting(PortBlock.Port::inUse).containsExactly(
        "PROXY_PORT 17001 of payment's metrics-proxy is in use",
        "PROXY_PORT 17002 of payment's trace-injector is in use",
        "PROXY_PORT 17011 of fraud-check's metrics-proxy is in use",
        "PROXY_PORT 17012 of fraud-check's trace-injector is in use",
        "OTLP_GRPC_PORT 17017 of the collector-stub is in use",
        "OTLP_HTTP_PORT 17018 of the collector-stub is in use",
        "PORT 17080 of the payment service is in use",
        "PORT 17081 of the fraud-check service is in use",
        "UI_PORT 17086 of the collector-stub is in use",
        "ADMIN_PORT 17090 of payment's metrics-proxy is in use",
        "ADMIN_PORT 17091 of payment's trace-injector is in use",
        "ADMIN_PORT 17092 of payment's log-forwarder is in use",
        "ADMIN_PORT 17093 of fraud-check's metrics-proxy is in use",
        "ADMIN_PORT 17094 of fraud-check's trace-injector is in use",
        "ADMIN_PORT 17095 of fraud-check's log-forwarder is in use");
  }

  @Test
  void freePortsAndAnExternalCollectorNeedFewerFixedPorts() {
    assertThat(new DemoTopology(DemoSettings.from(Settings.of(Map.of("DEMO_PORT_BASE", "0")), home, Map.of()))
        .fixedPorts()).isEmpty();
    assertThat(new DemoTopology(DemoSettings.from(
            Settings.of(Map.of("DEMO_OTLP_ENDPOINT", "http://localhost:4318")), home, Map.of()))
        .fixedPorts()).extracting(PortBlock.Port::owner).doesNotContain("the collector-stub").hasSize(12);
  }

  @Test
  void aListeningPortIsFoundTakenAndReportedWithWhatToDo() throws IOException {
    try (ServerSocket holder = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = holder.getLocalPort();
      PortBlock.Port held = new PortBlock.Port("ADMIN_PORT", port, "payment's metrics-proxy");
      PortBlock.Port free = new PortBlock.Port("PROXY_PORT", freePort(), "payment's metrics-proxy");

      List<PortBlock.Port> taken = PortBlock.taken(List.of(free, held), InetAddress.getLoopbackAddress());

      assertThat(taken).containsExactly(held);
      List<String> report = PortBlock.report(taken, 17000);
      assertThat(report.get(0)).isEqualTo("cannot start: a port of the demo's block 17000-17099 is in use:");
      assertThat(report.get(1)).isEqualTo("  ADMIN_PORT " + port + " of payment's metrics-proxy is in use");
      assertThat(String.join("\n", report)).contains("DEMO_PORT_BASE=0 ./run-local.sh");
    }
  }

  /** The launcher as a user runs it: exit 1, the cause first, and no process started. */
  @Test
  void theLauncherChecksItsWholeBlockBeforeStartingAnything(@TempDir Path dir) throws Exception {
    try (ServerSocket holder = new ServerSocket()) {
      holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      // A block whose admin port of payment's metrics-proxy (base + 90) is the one held here.
      int base = holder.getLocalPort() - 90;
      org.junit.jupiter.api.Assumptions.assumeTrue(base >= 1024 && base <= 65435, "a block fits around the port");
      ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), DemoMain.class.getName());
      builder.environment().put("DEMO_PORT_BASE", Integer.toString(base));
      builder.environment().put("DEMO_DIR", dir.toString());
      builder.environment().put("SUITE_HOME", Path.of("").toAbsolutePath().getParent().toString());
      Process launcher = builder.start();
      String out = new String(launcher.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      String err = new String(launcher.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(launcher.waitFor(60, TimeUnit.SECONDS)).isTrue();

      assertThat(launcher.exitValue()).as("stdout: %s\nstderr: %s", out, err).isEqualTo(1);
      List<String> lines = err.lines().toList();
      assertThat(lines.get(0)).startsWith("[demo] cannot start: ");
      assertThat(lines).contains("[demo]   ADMIN_PORT " + holder.getLocalPort() + " of payment's metrics-proxy is in use");
      assertThat(err).contains("DEMO_PORT_BASE=0");
      assertThat(out).as("nothing was started").doesNotContain("[demo] started");
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
