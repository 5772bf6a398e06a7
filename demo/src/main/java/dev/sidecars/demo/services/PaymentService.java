package dev.sidecars.demo.services;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The payment service of the demo: {@code POST /payments} with a JSON object such as {@code {"amount":12.50}}
 * asks fraud-check about the payment and answers 201 with the verdict and the trace id, 400 when the body is
 * not such an object, or 502 when fraud-check cannot answer. It knows nothing of OpenTelemetry: it only
 * forwards the {@code traceparent}, {@code tracestate} and {@code baggage} headers it received, and calls
 * fraud-check through its trace-injector on {@code localhost}.
 *
 * <p>Environment: {@code PORT} (default 8080; 0 picks a free one), {@code LOG_FILE} (default
 * {@code payment.log}), {@code FRAUD_CHECK_URL} (default {@code http://localhost:15002/fraud-check}: the
 * trace-injector's path-prefix route).
 */
public final class PaymentService {
  private final JsonLog log;
  private final URI fraudCheck;
  private final HttpClient client;

  PaymentService(JsonLog log, URI fraudCheck, HttpClient client) {
    this.log = log;
    this.fraudCheck = fraudCheck;
    this.client = client;
  }

  public static void main(String[] args) {
    Settings env = Settings.fromEnvironment();
    int port = env.port("PORT", 8080);
    Path logFile = Path.of(env.string("LOG_FILE", "payment.log"));
    URI fraudCheck = URI.create(DemoServer.url(env, "FRAUD_CHECK_URL", "http://localhost:15002/fraud-check") + "/check");
    DemoServer.validateOrExit(env);
    JsonLog log = new JsonLog(logFile, "payment", Clock.systemUTC());
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    PaymentService service = new PaymentService(log, fraudCheck, client);
    DemoServer.start("payment", port, service::handle, log);
  }

  void handle(HttpExchange exchange) throws IOException {
    if (!DemoServer.isPostTo(exchange, "/payments")) {
      return;
    }
    TraceHeaders trace = TraceHeaders.from(exchange.getRequestHeaders());
    byte[] body = DemoServer.readBody(exchange);
    String paymentId = UUID.randomUUID().toString();
    Map<String, Object> answer = new LinkedHashMap<>();
    // Handy for the reader of the demo: the trace to look up in the UI.
    trace.traceId().ifPresent(id -> answer.put("trace_id", id));
    // The digest is for the end-to-end tests, which check that no hop changed a byte: logged, not answered.
    log.write("INFO", "payment received", trace,
        Map.of("payment_id", paymentId, "request_bytes", body.length, "request_sha256", DemoServer.sha256(body)));
    String refusal = refusal(body);
    if (refusal != null) {
      answer.put("status", "refused");
      answer.put("error", refusal);
      log.write("WARN", "payment refused: " + refusal, trace, Map.of("payment_id", paymentId));
      DemoServer.respondJson(exchange, 400, Json.object(answer));
      return;
    }
    answer.put("payment_id", paymentId);

    HttpRequest.Builder call = HttpRequest.newBuilder(fraudCheck).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    trace.copyTo(call);
    try {
      HttpResponse<byte[]> fraud = client.send(call.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (fraud.statusCode() == 200) {
        JsonNode verdict = JsonBody.object(fraud.body());
        // What fraud-check said it sent, against what arrived: the egress path must not change a byte.
        boolean intact = fraud.headers().firstValue(DemoServer.BODY_DIGEST)
            .map(sent -> sent.equals(DemoServer.sha256(fraud.body()))).orElse(false);
        answer.put("status", "accepted");
        answer.put("verdict", verdict.path("verdict").asText());
        answer.put("score", verdict.path("score").asInt());
        log.write("INFO", "payment accepted", trace, Map.of("payment_id", paymentId,
            "verdict", verdict.path("verdict").asText(), "fraud_check_answer_intact", intact));
        DemoServer.respondJson(exchange, 201, Json.object(answer));
        return;
      }
      answer.put("status", "failed");
      answer.put("error", "fraud-check answered " + fraud.statusCode());
      answer.put("upstream_status", fraud.statusCode());
      fraud.headers().firstValue("x-sidecar-error").ifPresent(e -> answer.put("upstream_sidecar_error", e));
      fraud.headers().firstValue("x-sidecar-circuit").ifPresent(c -> answer.put("upstream_circuit", c));
    } catch (JsonBody.NotAnObject e) {
      answer.put("status", "failed");
      answer.put("error", "fraud-check's answer is not a verdict: " + e.getMessage());
    } catch (IOException e) {
      answer.put("status", "failed");
      answer.put("error", "fraud-check unreachable: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      answer.put("status", "failed");
      answer.put("error", "interrupted");
    }
    log.write("ERROR", "payment failed: " + answer.get("error"), trace, Map.of("payment_id", paymentId));
    DemoServer.respondJson(exchange, 502, Json.object(answer));
  }

  /** Why the body is not a payment, or null when it is one: a JSON object with a positive {@code amount}. */
  static String refusal(byte[] body) {
    JsonNode payment;
    try {
      payment = JsonBody.object(body);
    } catch (JsonBody.NotAnObject e) {
      return e.getMessage() + "; send a JSON object such as {\"amount\":12.50}";
    }
    JsonNode amount = payment.path("amount");
    if (!amount.isNumber() || amount.asDouble() <= 0) {
      return "\"amount\" must be a positive number, e.g. {\"amount\":12.50}";
    }
    return null;
  }
}
