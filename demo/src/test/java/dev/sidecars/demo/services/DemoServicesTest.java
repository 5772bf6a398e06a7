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
      String text = new String(post.body(), StandardCharsets.UTF_8);
      assertThat(text).as("an answer for people: one line").endsWith("}\n");
      JsonNode answer = JSON.readTree(post.body());
      assertThat(answer.path("verdict").asText()).isIn("approve", "review");
      assertThat(fieldNames(answer)).containsExactly("verdict", "score");

      HttpResponse<String> bad = post(base + "/check", "amount=12.5");
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(JSON.readTree(bad.body()).path("error").asText()).startsWith("the body is not JSON");

      List<String> lines = Files.readAllLines(log);
      assertThat(lines).hasSize(2);
      JsonNode logged = JSON.readTree(lines.get(0));
      assertThat(logged.path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(logged.path("span_id").asText()).isEqualTo("00f067aa0ba902b7");
      assertThat(logged.path("service").asText()).isEqualTo("fraud-check");
      assertThat(logged.path("message").asText()).startsWith("fraud check ");
      assertThat(logged.path("request_sha256").asText()).as("the tests' digest, in the log")
          .isEqualTo(DemoServer.sha256(body));
      assertThat(JSON.readTree(lines.get(1)).path("level").asText()).isEqualTo("WARN");
    }
  }

  @Test
  void paymentAnswersTheVerdictAndTraceIdAndRefusesWhatIsNotAPayment(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("payment.log");
    try (ProcessGroup group = new ProcessGroup(dir.resolve("out"), Duration.ofSeconds(10), line -> {})) {
      RunningProcess fraud = group.start(ProcessSpec.of("fraud-check", Stage.APP, java(FraudCheckService.class),
          Map.of("PORT", "0", "LOG_FILE", dir.resolve("fraud-check.log").toString()))).get(0);
      RunningProcess payment = group.start(ProcessSpec.of("payment", Stage.APP, java(PaymentService.class),
          Map.of("PORT", "0", "LOG_FILE", log.toString(),
              "FRAUD_CHECK_URL", "http://127.0.0.1:" + fraud.port("http")))).get(0);
      String payments = "http://127.0.0.1:" + payment.port("http") + "/payments";

      HttpResponse<String> paid = HTTP.send(HttpRequest.newBuilder(URI.create(payments))
              .header("Content-Type", "application/json")
              .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
              .POST(HttpRequest.BodyPublishers.ofString("{\"amount\":12.50}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(paid.statusCode()).as(paid.body()).isEqualTo(201);
      assertThat(paid.body()).endsWith("}\n");
      JsonNode answer = JSON.readTree(paid.body());
      assertThat(fieldNames(answer)).containsExactly("trace_id", "payment_id", "status", "verdict", "score");
      assertThat(answer.path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(answer.path("status").asText()).isEqualTo("accepted");
      assertThat(answer.path("verdict").asText()).isIn("approve", "review");

      for (String notAPayment : List.of("", "amount=12.50", "[12.50]", "{\"amount\":12.50", "{\"amount\":12.50} {}",
          "{\"amount\":\"12.50\"}", "{\"amount\":-1}", "{\"currency\":\"EUR\"}")) {
        HttpResponse<String> refused = post(payments, notAPayment);
        assertThat(refused.statusCode()).as("answer to %s: %s", notAPayment, refused.body()).isEqualTo(400);
        assertThat(refused.body()).endsWith("}\n");
        JsonNode why = JSON.readTree(refused.body());
        assertThat(why.path("status").asText()).isEqualTo("refused");
        assertThat(why.path("error").asText()).as("says what to send").contains("{\"amount\":12.50}");
      }

      // The tests' fields went to the log, not into the answer.
      List<JsonNode> lines = new java.util.ArrayList<>();
      for (String line : Files.readAllLines(log)) {
        lines.add(JSON.readTree(line));
      }
      assertThat(lines.get(0).path("message").asText()).isEqualTo("payment received");
      assertThat(lines.get(0).path("request_sha256").asText())
          .isEqualTo(DemoServer.sha256("{\"amount\":12.50}".getBytes(StandardCharsets.UTF_8)));
      assertThat(lines.get(1).path("message").asText()).isEqualTo("payment accepted");
      assertThat(lines.get(1).path("fraud_check_answer_intact").asBoolean()).isTrue();
      assertThat(lines).filteredOn(l -> l.path("message").asText().startsWith("payment refused")).hasSize(8);
    }
  }

  private static HttpResponse<String> post(String url, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> fieldNames(JsonNode object) {
    List<String> names = new java.util.ArrayList<>();
    object.fieldNames().forEachRemaining(names::add);
    return names;
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
