package dev.sidecars.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.runtime.testing.AdminClient;
import dev.sidecars.runtime.testing.ExampleSidecarMain;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Proves the process-level contract of {@link Sidecar#main} on a real child JVM: the first stdout line
 * is the start line with the chosen admin port; SIGTERM and {@code POST /shutdown} both turn {@code
 * /readyz} 503 while in-flight work drains, then exit 0 (not the JVM's 143) after the drain finished,
 * within {@code SHUTDOWN_GRACE}; bad configuration, shared or {@code OTEL_*}, exits 2 with one stderr
 * line per variable.
 */
class SidecarProcessTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Duration GRACE = Duration.ofSeconds(10);
  private static final Pattern START_LINE =
      Pattern.compile("^" + ExampleSidecarMain.NAME + " \\S+ listening on (\\S+=\\d+ ?)+, sending no OTLP \\(.+\\)$");
  private static final Pattern ADMIN_PORT = Pattern.compile(" admin=(\\d+)");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<String> stdout = new CopyOnWriteArrayList<>();
  private final List<String> stderr = new CopyOnWriteArrayList<>();
  private CompletableFuture<Void> stdoutClosed;
  private CompletableFuture<Void> stderrClosed;
  private Process process;

  @AfterEach
  void killLeftovers() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static Map<String, String> goodEnv() {
    Map<String, String> env = new HashMap<>();
    env.put("ADMIN_PORT", "0");
    env.put("BIND_ADDRESS", "127.0.0.1");
    env.put("OTEL_TRACES_EXPORTER", "none");
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_LOGS_EXPORTER", "none");
    env.put("SHUTDOWN_GRACE", GRACE.toSeconds() + "s");
    return env;
  }

  private void launch(Map<String, String> env) throws IOException {
    String java = ProcessHandle.current().info().command().orElseThrow();
    ProcessBuilder builder =
        new ProcessBuilder(
            java, "-cp", System.getProperty("java.class.path"), ExampleSidecarMain.class.getName());
    // Only what the test sets: variables of the machine running the build must not leak in.
    builder.environment().clear();
    builder.environment().putAll(env);
    process = builder.start();
    stdoutClosed = collect(process.getInputStream(), stdout, "stdout");
    stderrClosed = collect(process.getErrorStream(), stderr, "stderr");
  }

  private static CompletableFuture<Void> collect(InputStream stream, List<String> lines, String name) {
    CompletableFuture<Void> closed = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                  lines.add(line);
                }
                closed.complete(null);
              } catch (IOException e) {
                closed.completeExceptionally(new UncheckedIOException(e));
              }
            },
            "child-" + name);
    reader.setDaemon(true);
    reader.start();
    return closed;
  }

  /** Waits for the start line and returns the admin port it names. */
  private int awaitStartLine() {
    await()
        .atMost(WAIT)
        .until(() -> !stdout.isEmpty() || !process.isAlive());
    assertThat(stdout).as("stdout (stderr: %s)", stderr).isNotEmpty();
    String first = stdout.get(0);
    assertThat(first).matches(START_LINE);
    Matcher admin = ADMIN_PORT.matcher(first);
    assertThat(admin.find()).isTrue();
    return Integer.parseInt(admin.group(1));
  }

  /** Waits for the exit and for both streams to be read to the end; returns the exit code. */
  private int awaitExit() throws Exception {
    assertThat(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("exited").isTrue();
    stdoutClosed.get(10, TimeUnit.SECONDS);
    stderrClosed.get(10, TimeUnit.SECONDS);
    return process.exitValue();
  }

  /** Polls {@code /readyz} until it answers 503; returns its reason and the stdout seen by then. */
  private List<String> awaitNotReady(AdminClient admin, AtomicReference<String> reason) {
    AtomicReference<List<String>> stdoutThen = new AtomicReference<>();
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              HttpResponse<String> response = admin.get("/readyz");
              if (response.statusCode() != 503) {
                return false;
              }
              stdoutThen.set(List.copyOf(stdout));
              reason.set(JSON.readTree(response.body()).path("reason").asText());
              return true;
            });
    return stdoutThen.get();
  }

  @Test
  void sigtermStopsBeingReadyDrainsThenExitsZero() throws Exception {
    launch(goodEnv());
    AdminClient admin = new AdminClient(awaitStartLine());
    assertThat(admin.get("/readyz").statusCode()).isEqualTo(200);

    long sigterm = System.nanoTime();
    // SIGTERM, like Process.destroy(), which would also close our end of the child's stdout before
    // "drained" could be read from it.
    assertThat(process.toHandle().destroy()).isTrue();
    AtomicReference<String> reason = new AtomicReference<>();
    List<String> stdoutWhenNotReady = awaitNotReady(admin, reason);
    int exit = awaitExit();
    Duration stopTook = Duration.ofNanos(System.nanoTime() - sigterm);

    assertThat(reason.get()).isEqualTo("stopping");
    assertThat(stdoutWhenNotReady).as("readiness must drop before the drain ends").doesNotContain("drained");
    // The JVM's own status for SIGTERM is 143; 0 needs the runtime's shutdown hook.
    assertThat(exit).as("exit code (stderr: %s)", stderr).isZero();
    assertThat(stdout).containsSubsequence(stdout.get(0), "drained", "closed");
    assertThat(stopTook).isLessThan(GRACE);
    // Said when the stop begins and when it ends, although the JVM's own logging is shut down by then.
    assertThat(stderr).anySatisfy(line -> assertThat(line)
        .endsWith(" INFO Lifecycle: stopping: draining 7.5s at most, then flushing telemetry"));
    assertThat(stderr).anySatisfy(line -> assertThat(line).matches(".* INFO Lifecycle: stopped in \\d+ ms"));
  }

  @Test
  void aTakenAdminPortIsNamedAtOnceAndExitsOne() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      Map<String, String> env = goodEnv();
      env.put("ADMIN_PORT", Integer.toString(taken.getLocalPort()));
      env.put("SERVICE_NAME", "checkout");
      launch(env);

      int exit = awaitExit();

      assertThat(exit).isEqualTo(1);
      assertThat(stderr).contains(ExampleSidecarMain.NAME + ": failed to start: ADMIN_PORT " + taken.getLocalPort()
          + " of checkout's " + ExampleSidecarMain.NAME + " is in use; set ADMIN_PORT to a free port, or to 0 for any free one");
    }
  }

  @Test
  void postShutdownDrainsThenExitsZero() throws Exception {
    launch(goodEnv());
    AdminClient admin = new AdminClient(awaitStartLine());

    HttpResponse<String> accepted = admin.post("/shutdown");
    AtomicReference<String> reason = new AtomicReference<>();
    List<String> stdoutWhenNotReady = awaitNotReady(admin, reason);
    int exit = awaitExit();

    assertThat(accepted.statusCode()).isEqualTo(202);
    assertThat(reason.get()).isEqualTo("stopping");
    assertThat(stdoutWhenNotReady).doesNotContain("drained");
    assertThat(exit).as("exit code (stderr: %s)", stderr).isZero();
    assertThat(stdout).containsSubsequence(stdout.get(0), "drained", "closed");
  }

  @Test
  void badConfigurationExitsTwoWithOneStderrLinePerVariable() throws Exception {
    Map<String, String> env = goodEnv();
    env.put("ADMIN_PORT", "abc");
    env.put("SHUTDOWN_GRACE", "x");
    launch(env);

    int exit = awaitExit();

    assertThat(exit).isEqualTo(Sidecar.EXIT_BAD_CONFIG).isEqualTo(2);
    assertThat(stdout).as("no start line on bad configuration").isEmpty();
    assertThat(stderr.stream().filter(line -> line.contains("ADMIN_PORT")))
        .singleElement()
        .satisfies(line -> assertThat(line).contains("ADMIN_PORT=\"abc\": expected a port number"));
    assertThat(stderr.stream().filter(line -> line.contains("SHUTDOWN_GRACE")))
        .singleElement()
        .satisfies(line -> assertThat(line).contains("SHUTDOWN_GRACE=\"x\": expected a duration"));
  }

  @Test
  void badOtelVariableExitsTwoWithAStderrLineNamingIt() throws Exception {
    // The SDK is built after the sidecar's own logging is set up, so this line also proves that
    // setting up logging leaves stderr writable.
    Map<String, String> env = goodEnv();
    env.put("OTEL_TRACES_SAMPLER", "bogus");
    launch(env);

    int exit = awaitExit();

    assertThat(exit).isEqualTo(2);
    assertThat(stdout).isEmpty();
    assertThat(stderr.stream().filter(line -> line.contains("OTEL_TRACES_SAMPLER")))
        .singleElement()
        .satisfies(line -> assertThat(line).startsWith(ExampleSidecarMain.NAME + ": OTEL_TRACES_SAMPLER"));
  }
}
