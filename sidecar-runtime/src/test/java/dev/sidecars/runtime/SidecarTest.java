package dev.sidecars.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.testing.AdminClient;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Proves, in this process, how {@link Sidecar#start} puts a sidecar together: the start line names
 * every port and the admin port really serves; {@code /readyz} shows the component's readiness and
 * turns 503 "stopping" the moment the stop begins, while the drain is still running; the component's
 * metrics reach {@code /metrics}; {@code POST /shutdown} runs the drain; and bad variables, shared and
 * the sidecar's own, are reported together before anything starts.
 */
class SidecarTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern START_LINE =
      Pattern.compile("^" + RecordingFactory.NAME + " \\S+ listening on (\\S+=\\d+ ?)+, sending no OTLP \\(.+\\)$");

  private final RecordingFactory factory = new RecordingFactory();
  private Sidecar sidecar;

  @AfterEach
  void stop() throws Exception {
    factory.releaseDrain.countDown();
    if (sidecar != null) {
      sidecar.lifecycle().stop().get(30, TimeUnit.SECONDS);
    }
  }

  private static Map<String, String> env(String... nameValuePairs) {
    Map<String, String> env = new HashMap<>();
    env.put("ADMIN_PORT", "0");
    env.put("BIND_ADDRESS", "127.0.0.1");
    env.put("SHUTDOWN_GRACE", "10s");
    env.put("OTEL_TRACES_EXPORTER", "none");
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_LOGS_EXPORTER", "none");
    for (int i = 0; i < nameValuePairs.length; i += 2) {
      env.put(nameValuePairs[i], nameValuePairs[i + 1]);
    }
    return env;
  }

  private AdminClient admin() {
    return new AdminClient(sidecar.ports().get("admin"));
  }

  @Test
  void startLineNamesTheChosenAdminPortWhichServes() throws Exception {
    sidecar = Sidecar.start(factory, env());

    String line = sidecar.startLine();

    assertThat(line).matches(START_LINE);
    Matcher admin = Pattern.compile(" admin=(\\d+)").matcher(line);
    assertThat(admin.find()).isTrue();
    int port = Integer.parseInt(admin.group(1));
    assertThat(port).isPositive().isEqualTo(sidecar.ports().get("admin"));
    assertThat(new AdminClient(port).get("/healthz").statusCode()).isEqualTo(200);
    assertThat(factory.context.bindAddress()).isEqualTo("127.0.0.1");
    assertThat(factory.context.name()).isEqualTo(RecordingFactory.NAME);
  }

  @Test
  void startLineNamesWhereTheOtlpGoes() throws Exception {
    sidecar = Sidecar.start(factory, env("OTEL_TRACES_EXPORTER", "otlp", "OTEL_METRICS_EXPORTER", "otlp",
        "OTEL_METRIC_EXPORT_INTERVAL", "3600000", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"));

    assertThat(sidecar.startLine())
        .endsWith(" listening on admin=" + sidecar.ports().get("admin")
            + ", sending OTLP traces and metrics to http://127.0.0.1:9 (http/protobuf)");
  }

  @Test
  void readyzTurns503StoppingAsSoonAsTheStopBeginsWhileTheDrainRuns() throws Exception {
    sidecar = Sidecar.start(factory, env());
    assertThat(admin().get("/readyz").statusCode()).isEqualTo(200);

    var stopped = sidecar.lifecycle().stop();

    assertThat(factory.drainStarted.await(10, TimeUnit.SECONDS)).isTrue();
    HttpResponse<String> during = admin().get("/readyz");
    assertThat(during.statusCode()).isEqualTo(503);
    assertThat(JSON.readTree(during.body()).path("reason").asText()).isEqualTo("stopping");
    assertThat(factory.events).containsExactly("start", "drain");
    assertThat(stopped).isNotDone();

    factory.releaseDrain.countDown();
    stopped.get(30, TimeUnit.SECONDS);
    assertThat(factory.events).containsExactly("start", "drain", "drained", "close");
    // The admin server is closed as the very last step.
    assertThat(catchThrowable(() -> admin().get("/healthz"))).isNotNull();
  }

  @Test
  void readyzShowsTheComponentsOwnReason() throws Exception {
    sidecar = Sidecar.start(factory, env());
    factory.notReady = Optional.of("waiting for the first scrape");

    HttpResponse<String> response = admin().get("/readyz");

    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(JSON.readTree(response.body()).path("reason").asText())
        .isEqualTo("waiting for the first scrape");
    factory.notReady = Optional.empty();
    assertThat(admin().get("/readyz").statusCode()).isEqualTo(200);
  }

  @Test
  void metricsShowWhatTheComponentRegistered() throws Exception {
    sidecar = Sidecar.start(factory, env("RECORDER_LIMIT", "42"));

    assertThat(admin().get("/metrics").body()).contains("recorder_started_total{limit=\"42\"} 1.0");
  }

  @Test
  void shutdownGraceSetsTheLifecyclesGracePeriod() throws Exception {
    sidecar = Sidecar.start(factory, env("SHUTDOWN_GRACE", "7s"));

    assertThat(sidecar.lifecycle().grace()).isEqualTo(Duration.ofSeconds(7));
  }

  @Test
  void postShutdownRunsTheDrainAndLeavesAnInProcessHostRunning() throws Exception {
    // Started without Sidecar.main, so no shutdown hook: ending this JVM would end the test run.
    sidecar = Sidecar.start(factory, env());

    HttpResponse<String> response = admin().post("/shutdown");

    assertThat(response.statusCode()).isEqualTo(202);
    assertThat(factory.drainStarted.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(admin().get("/readyz").statusCode()).isEqualTo(503);
    factory.releaseDrain.countDown();
    await().atMost(Duration.ofSeconds(30)).until(() -> sidecar.lifecycle().stopped().isDone());
    assertThat(factory.events).containsExactly("start", "drain", "drained", "close");
  }

  @Test
  void badSharedAndOwnVariablesAreAllReportedAtOnceBeforeAnythingStarts() {
    ConfigException e =
        catchThrowableOfType(
            ConfigException.class,
            () ->
                Sidecar.start(
                    factory,
                    env(
                        "ADMIN_PORT", "abc",
                        "SHUTDOWN_GRACE", "soon",
                        "LOG_LEVEL", "loud",
                        "RECORDER_LIMIT", "lots")));

    assertThat(e.problems()).hasSize(4);
    assertThat(e.problems())
        .anySatisfy(line -> assertThat(line).startsWith("ADMIN_PORT=\"abc\": expected a port number"))
        .anySatisfy(line -> assertThat(line).startsWith("SHUTDOWN_GRACE=\"soon\": expected a duration"))
        .anySatisfy(
            line -> assertThat(line).isEqualTo("LOG_LEVEL=\"loud\": expected one of trace, debug, info, warn, error"))
        .anySatisfy(line -> assertThat(line).startsWith("RECORDER_LIMIT=\"lots\": expected a whole number"));
    assertThat(factory.events).as("the component must not start on bad configuration").isEmpty();
  }

  @Test
  void aTakenAdminPortFailsTheStartAndReleasesTheComponent() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      Throwable failure =
          catchThrowable(
              () -> Sidecar.start(factory, env("ADMIN_PORT", String.valueOf(taken.getLocalPort()),
                  "SERVICE_NAME", "checkout")));

      assertThat(failure).isInstanceOf(PortInUseException.class).hasMessage("ADMIN_PORT " + taken.getLocalPort()
          + " of checkout's recorder is in use; set ADMIN_PORT to a free port, or to 0 for any free one");
      // Nothing else would ever stop a component whose sidecar failed to start.
      assertThat(factory.events).containsExactly("start", "close");
    }
  }

  @Test
  void aTakenPortOfTheComponentIsNamedByItsVariable() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      Throwable failure = catchThrowable(() -> Sidecar.start(factory, env("SERVICE_NAME", "",
          "RECORDER_PORT", String.valueOf(taken.getLocalPort()))));

      assertThat(failure).isInstanceOf(PortInUseException.class).hasMessage("RECORDER_PORT " + taken.getLocalPort()
          + " of the recorder is in use; set RECORDER_PORT to a free port, or to 0 for any free one");
    }
  }
}
