package dev.sidecars.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher as a user runs it: a child process started like {@code run-local.sh} does, with its load
 * generator, told to stop with SIGTERM as Ctrl-C would.
 */
class DemoMainTest {
  private static final Pattern STARTED = Pattern.compile("\\[demo\\] started (\\S+) \\(pid (\\d+)\\).*");
  private static final Pattern METRICS = Pattern.compile("\\s+payment-metrics-proxy\\s+(http://\\S+/metrics)");

  @Test
  void startsEverythingPrintsWhereToLookAndStopsCleanlyOnSigterm(@TempDir Path dir) throws Exception {
    String javaCommand = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder builder = new ProcessBuilder(javaCommand, "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        DemoMain.class.getName()).redirectErrorStream(true);
    builder.environment().put("DEMO_PORT_BASE", "0");
    builder.environment().put("DEMO_RATE", "5");
    builder.environment().put("DEMO_DIR", dir.toString());
    builder.environment().put("DEMO_JAVA_OPTIONS", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx128m");
    builder.environment().put("OTEL_METRIC_EXPORT_INTERVAL", "1000");
    Process launcher = builder.start();
    List<String> out = Collections.synchronizedList(new ArrayList<>());
    Thread pump = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(launcher.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          out.add(line);
        }
      } catch (IOException e) {
        // the launcher ended
      }
    });
    pump.start();
    try {
      await("the launcher says the demo is running").atMost(Duration.ofSeconds(180))
          .until(() -> {
            if (!launcher.isAlive()) {
              throw new AssertionError("the launcher exited with " + launcher.exitValue() + ": " + out);
            }
            return List.copyOf(out).contains("The sidecar suite demo is running.");
          });
      List<String> printed = List.copyOf(out);
      assertThat(String.join("\n", printed)).contains("/payments", "collector-stub UI: http://localhost:",
          "payment-trace-injector", "fraud-check-log-forwarder", "Ctrl-C stops everything");
      List<Long> pids = new ArrayList<>();
      String metrics = null;
      for (String line : printed) {
        Matcher started = STARTED.matcher(line);
        if (started.matches()) {
          pids.add(Long.parseLong(started.group(2)));
        }
        Matcher m = METRICS.matcher(line);
        if (m.matches()) {
          metrics = m.group(1);
        }
      }
      assertThat(pids).as("ten processes, the load generator included").hasSize(10);
      assertThat(metrics).isNotNull();

      // The load generator's payments go through payment's metrics-proxy.
      String page = metrics;
      await("payments from the load generator").atMost(Duration.ofSeconds(60)).until(() -> HttpClient.newHttpClient()
          .send(HttpRequest.newBuilder(URI.create(page)).build(), HttpResponse.BodyHandlers.ofString()).body()
          .contains("http_server_request_duration_seconds_count{http_request_method=\"POST\",http_response_status_code=\"201\",http_route=\"/payments\"}"));

      // Through the handle: Process.destroy() would also close our end of its output.
      launcher.toHandle().destroy();
      assertThat(launcher.waitFor(120, TimeUnit.SECONDS)).isTrue();
      pump.join(10_000);

      assertThat(launcher.exitValue()).as("a clean stop: %s", out).isZero();
      List<String> stops = out.stream().filter(l -> l.startsWith("[demo] stopped ")).toList();
      assertThat(stops).as("%s", out).hasSize(10).allSatisfy(l -> assertThat(l).endsWith("(exit 0)"));
      assertThat(stops.get(0)).startsWith("[demo] stopped load-generator");
      assertThat(stops.get(stops.size() - 1)).startsWith("[demo] stopped collector-stub");
      assertThat(pids).allSatisfy(pid -> assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive))
          .as("pid %d", pid).isNotEqualTo(Optional.of(true)));
    } finally {
      launcher.descendants().forEach(ProcessHandle::destroyForcibly);
      launcher.destroyForcibly();
    }
  }
}
