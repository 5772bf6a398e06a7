package dev.sidecars.collector;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code CollectorStubMain} as a real child process: the start line names every port, SIGTERM exits 0,
 * and bad configuration exits 2 with one line per bad variable.
 */
class CollectorStubProcessTest {
  private static final Pattern START_LINE =
      Pattern.compile("^collector-stub \\S+ listening on otlp-http=(\\d+) otlp-grpc=(\\d+) ui=(\\d+)$");

  static Process launch(Map<String, String> env) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"),
        CollectorStubMain.class.getName());
    pb.environment().keySet().removeIf(k -> k.startsWith("OTEL_") || k.startsWith("STUB_") || k.endsWith("_PORT"));
    pb.environment().putAll(env);
    return pb.start();
  }

  @Test
  void printsItsPortsFirstServesAndExitsZeroOnSigterm() throws Exception {
    Process process = launch(Map.of("OTLP_HTTP_PORT", "0", "OTLP_GRPC_PORT", "0", "UI_PORT", "0",
        "BIND_ADDRESS", "127.0.0.1"));
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      String first = out.readLine();
      Matcher m = START_LINE.matcher(first == null ? "" : first);
      assertThat(m.matches()).as("start line: %s", first).isTrue();
      String ui = "http://127.0.0.1:" + m.group(3);
      String otlp = "http://127.0.0.1:" + m.group(1);

      assertThat(Http.post(otlp + "/v1/traces", "application/x-protobuf",
          MalformedRequestTest.validRequest(2).toByteArray()).statusCode()).isEqualTo(200);
      assertThat(Http.getJson(ui + "/api/stats").path("spans").asInt()).isEqualTo(2);

      process.destroy(); // SIGTERM
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(process.exitValue()).isZero();
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void badConfigurationExitsTwoNamingEveryBadVariable() throws Exception {
    Process process = launch(Map.of("OTLP_HTTP_PORT", "http", "STUB_MAX_SPANS", "-5", "STUB_MAX_BODY_BYTES", "lots"));
    try {
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      List<String> lines = new ArrayList<>();
      new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8)).lines().forEach(lines::add);
      assertThat(process.exitValue()).isEqualTo(2);
      assertThat(lines).hasSize(3);
      assertThat(lines.get(0)).startsWith("collector-stub: OTLP_HTTP_PORT=\"http\": expected a port number");
      assertThat(lines.get(1)).startsWith("collector-stub: STUB_MAX_SPANS=\"-5\": expected");
      assertThat(lines.get(2)).startsWith("collector-stub: STUB_MAX_BODY_BYTES=\"lots\": expected a size");
    } finally {
      process.destroyForcibly();
    }
  }
}
