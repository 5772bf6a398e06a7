package dev.sidecars.demo.services;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.demo.launch.ProcessGroup;
import dev.sidecars.demo.launch.ProcessSpec;
import dev.sidecars.demo.launch.RunningProcess;
import dev.sidecars.demo.launch.Stage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo services as processes: what they answer, what they log, and how they refuse bad settings. */
class DemoServicesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static List<String> java(Class<?> main) {
    return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), main.getName());
  }

  @Test
  void fraudCheckAnswersScoresAndLogsTheTraceItWasHanded(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("fraud-check.log");
    try (ProcessGroup group = new ProcessGroup(dir.resolve("out"), Duration.ofSeconds(10), line -> {})) {
      RunningProcess fraud = group.start(ProcessSpec.of("fraud-check", Stage.APP, java(FraudCheckService.class),
          Map.of("PORT", "0", "LOG_FILE", log.toString()))).get(0);
      String base = "http://127.0.0.1:" + fraud.port("http");

      HttpResponse<String> get = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/check")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(get.statusCode()).isEqualTo(405);
      assertThat(get.headers().firstValue("Allow")).contains("POST");
      assertThat(HTTP.send(HttpRequest.newBuilder(URI.create(base + "/nope")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(404);
      assertThat(HTTP.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(200);

      byte[] body = "{\"amount\":12.5}".getBytes(StandardCharsets.UTF_8);
      HttpResponse<byte[]> post = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/check"))
              .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
              .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertThat(post.statusCode()).isEqualTo(200);
      assertThat(post.headers().firstValue(DemoServer.BODY_DIGEST)).contains(DemoServer.sha256(post.body()));
      JsonNode answer = JSON.readTree(post.body());
      assertThat(answer.path("request_sha256").asText()).isEqualTo(DemoServer.sha256(body));
      assertThat(answer.path("verdict").asText()).isIn("approve", "review");

      List<String> lines = Files.readAllLines(log);
      assertThat(lines).hasSize(1);
      JsonNode logged = JSON.readTree(lines.get(0));
      assertThat(logged.path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(logged.path("span_id").asText()).isEqualTo("00f067aa0ba902b7");
      assertThat(logged.path("service").asText()).isEqualTo("fraud-check");
      assertThat(logged.path("message").asText()).startsWith("fraud check ");
    }
  }

  @Test
  void paymentRefusesABadSettingWithOneLineAndStatus2() throws Exception {
    ProcessBuilder builder = new ProcessBuilder(java(PaymentService.class));
    builder.environment().put("PORT", "http");
    builder.environment().put("FRAUD_CHECK_URL", "localhost:15002");
    Process process = builder.start();
    String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(process.exitValue()).isEqualTo(2);
    assertThat(stderr.lines().toList()).containsExactly(
        "PORT=\"http\": expected a port number 0-65535 (0 picks a free port)",
        "FRAUD_CHECK_URL=\"localhost:15002\": expected an http:// or https:// URL");
  }
}
