package dev.sidecars.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoSettingsTest {
  @TempDir Path home;

  @Test
  void defaultsAreTheDocumentedBlockAndTwoPaymentsASecond() {
    DemoSettings settings = DemoSettings.from(Settings.of(Map.of()), home, Map.of());

    assertThat(settings.portBase()).isEqualTo(17000);
    assertThat(settings.port(1)).isEqualTo(17001);
    assertThat(settings.rate()).isEqualTo(2);
    assertThat(settings.otlpEndpoint()).isEmpty();
    assertThat(settings.home()).isEqualTo(home.toAbsolutePath());
    assertThat(settings.dir().getFileName()).hasToString("demo-run");
  }

  @Test
  void portBaseZeroMeansFreePorts() {
    DemoSettings settings = DemoSettings.from(Settings.of(Map.of("DEMO_PORT_BASE", "0")), home, Map.of());

    assertThat(settings.port(1)).isZero();
    assertThat(settings.port(86)).isZero();
  }

  @Test
  void anExternalCollectorReplacesTheStub() {
    DemoSettings settings = DemoSettings.from(
        Settings.of(Map.of("DEMO_OTLP_ENDPOINT", "http://otel-collector:4318/")), home, Map.of());

    assertThat(settings.otlpEndpoint()).contains("http://otel-collector:4318");
  }

  @Test
  void theStandardSdkVariablesReachTheSidecarsButNotAnEndpointLeftInTheShell() {
    DemoSettings settings = DemoSettings.from(Settings.of(Map.of()), home, Map.of(
        "OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20x", "OTEL_METRICS_EXPORTER", "none",
        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://elsewhere:4318", "OTEL_SERVICE_NAME", "shell", "HOME", "/root"));

    assertThat(settings.sidecarEnv()).containsOnly(
        Map.entry("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20x"),
        Map.entry("OTEL_METRICS_EXPORTER", "none"));
  }

  @Test
  void blanksInTheJavaOptionsGiveNoEmptyArgument() {
    DemoSettings settings = DemoSettings.from(Settings.of(Map.of("DEMO_JAVA_OPTIONS", "  -Xmx64m   -Xss512k ")),
        home, Map.of());

    assertThat(settings.java()).hasSize(3).endsWith("-Xmx64m", "-Xss512k");
  }

  @Test
  void everyBadVariableIsNamedOnItsOwnLine() {
    Map<String, String> env = Map.of("DEMO_PORT_BASE", "80", "DEMO_RATE", "fast",
        "DEMO_OTLP_ENDPOINT", "otel-collector:4318", "SUITE_HOME", home.resolve("missing").toString());

    assertThatThrownBy(() -> DemoSettings.from(Settings.of(env), home, Map.of()))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems())
            .hasSize(4)
            .anySatisfy(p -> assertThat(p).startsWith("DEMO_PORT_BASE=\"80\""))
            .anySatisfy(p -> assertThat(p).startsWith("DEMO_RATE=\"fast\""))
            .anySatisfy(p -> assertThat(p).startsWith("DEMO_OTLP_ENDPOINT=\"otel-collector:4318\""))
            .anySatisfy(p -> assertThat(p).startsWith("SUITE_HOME=")));
  }

  @Test
  void theLauncherExitsWithStatus2AndOneLineOnABadVariable() throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        DemoMain.class.getName());
    builder.environment().put("DEMO_RATE", "-1");
    Process process = builder.start();
    String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(process.exitValue()).isEqualTo(2);
    assertThat(stderr.lines().toList()).containsExactly(
        "DEMO_RATE=\"-1\": expected a whole number from 0 to 1000");
    assertThat(new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEmpty();
  }
}
