package dev.sidecars.demo.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Struct;
import dev.sidecars.demo.launch.ProcessGroup;
import dev.sidecars.demo.launch.ProcessSpec;
import dev.sidecars.demo.launch.RunningProcess;
import dev.sidecars.demo.launch.Stage;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.net.InetAddress;
import java.net.ServerSocket;
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
import java.util.concurrent.atomic.AtomicReference;
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
  void fraudCheckAnswersScoresOverGrpcAndLogsTheTraceItWasHanded(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("fraud-check.log");
    try (ProcessGroup group = new ProcessGroup(dir.resolve("out"), Duration.ofSeconds(10), line -> {})) {
      RunningProcess fraud = group.start(ProcessSpec.of("fraud-check", Stage.APP, java(FraudCheckService.class),
          Map.of("PORT", "0", "LOG_FILE", log.toString()))).get(0);
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", fraud.port("grpc")).usePlaintext().build();
      try {
        Metadata trace = new Metadata();
        trace.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        Channel traced = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(trace),
            MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));

        byte[] body = "{\"amount\":12.5}".getBytes(StandardCharsets.UTF_8);
        Struct answer = ClientCalls.blockingUnaryCall(traced, FraudCheckRpc.CHECK, deadline(), payment(body));
        assertThat(answer.getFieldsMap()).containsOnlyKeys("verdict", "score");
        assertThat(answer.getFieldsOrThrow("verdict").getStringValue()).isIn("approve", "review");
        assertThat(answer.getFieldsOrThrow("score").getNumberValue()).isBetween(0.0, 100.0);
        assertThat(headers.get().get(FraudCheckRpc.ANSWER_DIGEST)).as("the digest of what fraud-check sent")
            .isEqualTo(DemoServer.sha256(answer.toByteArray()));

        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, FraudCheckRpc.CHECK, deadline(),
            payment("amount=12.5".getBytes(StandardCharsets.UTF_8))))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription()).startsWith("the body is not JSON");
            });

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
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  void paymentAnswers502WithTheGrpcStatusWhenFraudCheckIsUnreachable(@TempDir Path dir) throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = socket.getLocalPort();
    }
    try (ProcessGroup group = new ProcessGroup(dir.resolve("out"), Duration.ofSeconds(10), line -> {})) {
      RunningProcess payment = group.start(ProcessSpec.of("payment", Stage.APP, java(PaymentService.class),
          Map.of("PORT", "0", "LOG_FILE", dir.resolve("payment.log").toString(),
              "FRAUD_CHECK_URL", "http://127.0.0.1:" + closed))).get(0);

      HttpResponse<String> failed = post("http://127.0.0.1:" + payment.port("http") + "/payments", "{\"amount\":1}");
      assertThat(failed.statusCode()).as(failed.body()).isEqualTo(502);
      JsonNode answer = JSON.readTree(failed.body());
      assertThat(answer.path("status").asText()).isEqualTo("failed");
      assertThat(answer.path("upstream_grpc_status").asInt()).as("UNAVAILABLE").isEqualTo(14);
      assertThat(answer.path("error").asText()).startsWith("fraud-check answered UNAVAILABLE");
    }
  }

  private static BytesValue payment(byte[] json) {
    return BytesValue.newBuilder().setValue(ByteString.copyFrom(json)).build();
  }

  private static CallOptions deadline() {
    return CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  @Test
  void paymentAnswersTheVerdictAndTraceIdAndRefusesWhatIsNotAPayment(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("payment.log");
    try (ProcessGroup group = new ProcessGroup(dir.resolve("out"), Duration.ofSeconds(10), line -> {})) {
      RunningProcess fraud = group.start(ProcessSpec.of("fraud-check", Stage.APP, java(FraudCheckService.class),
          Map.of("PORT", "0", "LOG_FILE", dir.resolve("fraud-check.log").toString()))).get(0);
      RunningProcess payment = group.start(ProcessSpec.of("payment", Stage.APP, java(PaymentService.class),
          Map.of("PORT", "0", "LOG_FILE", log.toString(),
              "FRAUD_CHECK_URL", "http://127.0.0.1:" + fraud.port("grpc")))).get(0);
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

      // payment passed its trace headers on as the gRPC call's metadata: fraud-check logged the same trace.
      JsonNode checked = JSON.readTree(Files.readAllLines(dir.resolve("fraud-check.log")).get(0));
      assertThat(checked.path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(checked.path("span_id").asText()).isEqualTo("00f067aa0ba902b7");
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

  @Test
  void paymentRefusesAnHttpsFraudCheckUrlItsPlaintextChannelCannotReach() throws Exception {
    ProcessBuilder builder = new ProcessBuilder(java(PaymentService.class));
    builder.environment().put("FRAUD_CHECK_URL", "https://localhost:15002");
    Process process = builder.start();
    String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(process.exitValue()).isEqualTo(2);
    assertThat(stderr.lines().toList()).containsExactly(
        "FRAUD_CHECK_URL=\"https://localhost:15002\": expected an http:// URL (the gRPC channel is plaintext)");
  }
}
