package dev.sidecars.demo;

import dev.sidecars.demo.launch.ProcessGroup;
import dev.sidecars.demo.launch.StartFailure;
import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code java -jar demo/target/demo.jar}: runs the whole suite on this machine (see {@link DemoTopology}),
 * prints where to look, and on Ctrl-C or SIGTERM stops the load first, then the services, then the sidecars,
 * and the collector last. Exit status: 0 after a clean stop, 1 when a process did not start (nothing is left
 * running), 2 on a bad variable.
 */
public final class DemoMain {
  private DemoMain() {}

  public static void main(String[] args) throws InterruptedException {
    DemoSettings settings;
    try {
      settings = DemoSettings.from(Settings.fromEnvironment(), defaultHome(), System.getenv());
    } catch (ConfigException e) {
      e.problems().forEach(System.err::println);
      System.exit(2);
      return;
    }
    DemoTopology topology = new DemoTopology(settings);
    List<Path> missing = topology.missingJars();
    if (!missing.isEmpty()) {
      System.err.println("demo: not built yet: " + missing + " (run-local.sh builds them: mvn package -DskipTests)");
      System.exit(1);
      return;
    }
    ProcessGroup group = new ProcessGroup(settings.dir().resolve("output"), Duration.ofSeconds(15),
        line -> System.out.println("[demo] " + line));
    int leftovers = group.stopLeftovers();
    if (leftovers > 0) {
      System.out.println("[demo] stopped " + leftovers + " processes an earlier run left behind");
    }
    // Every fixed port at once, before anything starts: the cause comes first, not a child's last words.
    List<PortBlock.Port> taken = PortBlock.taken(topology.fixedPorts(), InetAddress.getLoopbackAddress());
    if (!taken.isEmpty()) {
      PortBlock.report(taken, settings.portBase()).forEach(line -> System.err.println("[demo] " + line));
      System.exit(1);
      return;
    }
    System.out.println("[demo] starting " + (settings.otlpEndpoint().isPresent() ? "" : "the collector-stub, ")
        + "two services and their sidecars " + (settings.portBase() == 0 ? "on free ports"
        : "on ports " + settings.portBase() + "-" + (settings.portBase() + 99)) + ", in stages (about 10 s)");
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean stopping = new AtomicBoolean();
    AtomicInteger status = new AtomicInteger();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stopping.set(true);
      System.out.println("[demo] stopping: load, services, sidecars, then the collector");
      group.stop();
      System.out.println("[demo] all stopped");
      stopped.countDown();
      // Ctrl-C and SIGTERM are how the demo is meant to end: a clean stop is status 0, not 130 or 143.
      Runtime.getRuntime().halt(status.get());
    }, "demo-stop"));
    DemoTopology.Running demo;
    try {
      demo = topology.start(group);
    } catch (StartFailure e) {
      if (stopping.get()) {
        // Stopped while starting: the hook is taking everything down.
        stopped.await();
        return;
      }
      System.err.println("[demo] " + e.getMessage());
      System.err.println("[demo] every process's output is in " + settings.dir().resolve("output"));
      status.set(1);
      System.exit(1);
      return;
    }
    System.out.println(describe(demo, settings));
    stopped.await();
  }

  static String describe(DemoTopology.Running demo, DemoSettings settings) {
    StringBuilder out = new StringBuilder();
    out.append("\nThe sidecar suite demo is running.\n\n");
    out.append("  Pay through payment's metrics-proxy:\n");
    out.append("    curl -s -X POST -H 'Content-Type: application/json' -d '{\"amount\":12.50}' ")
        .append(demo.paymentEntry()).append("/payments\n\n");
    if (demo.collectorUi().isPresent()) {
      out.append("  Traces, logs and metrics in the collector-stub UI: ").append(demo.collectorUi().get()).append('\n');
    } else {
      out.append("  Traces, logs and metrics go to ").append(demo.otlpEndpoint()).append(" (DEMO_OTLP_ENDPOINT)\n");
    }
    out.append("    one payment = payment's SERVER span (POST /payments), then the gRPC call to fraud-check:\n");
    out.append("    its CLIENT span (trace-injector) and fraud-check's SERVER span, both demo.fraud.v1.FraudCheck/Check,\n");
    out.append("    with both services' log lines linked from the trace\n\n");
    out.append("  Prometheus endpoints:\n");
    demo.metricsEndpoints().forEach((name, url) ->
        out.append("    ").append(String.format("%-28s", name)).append(url).append('\n'));
    out.append("\n  Output of every process: ").append(settings.dir().resolve("output")).append('\n');
    out.append("  App log files:           ").append(settings.dir().resolve("logs")).append('\n');
    if (settings.rate() > 0) {
      out.append("  Load: ").append(settings.rate()).append(" payments/s (DEMO_RATE)\n");
    }
    out.append("\nCtrl-C stops everything, the sidecars last.\n");
    return out.toString();
  }

  /** The checkout this jar was built in: {@code <home>/demo/target/demo.jar}. */
  private static Path defaultHome() {
    try {
      Path self = Path.of(DemoMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path target = self.getParent();
      if (target != null && target.getParent() != null && target.getParent().getParent() != null) {
        return target.getParent().getParent();
      }
    } catch (java.net.URISyntaxException | RuntimeException e) {
      // fall back to the working directory
    }
    return Path.of("").toAbsolutePath();
  }
}
