package dev.sidecars.demo.services;

import com.sun.net.httpserver.HttpExchange;
import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The payment service of the demo: {@code POST /payments} asks fraud-check about the payment and answers
 * 201 with the verdict, or 502 when fraud-check cannot answer. It knows nothing of OpenTelemetry: it only
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
    String digest = DemoServer.sha256(body);
    log.write("INFO", "payment received", trace, Map.of("payment_id", paymentId, "request_bytes", body.length));

    HttpRequest.Builder call = HttpRequest.newBuilder(fraudCheck).timeout(Duration.ofSeconds(10))
        .header("Content-Type", contentType(exchange))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    trace.copyTo(call);
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("payment_id", paymentId);
    // Handy for the reader of the demo: the trace to look up in the UI.
    trace.traceId().ifPresent(id -> answer.put("trace_id", id));
    answer.put("request_sha256", digest);
    answer.put("request_bytes", body.length);
    try {
      HttpResponse<byte[]> fraud = client.send(call.build(), HttpResponse.BodyHandlers.ofByteArray());
      String fraudBody = new String(fraud.body(), StandardCharsets.UTF_8);
      if (fraud.statusCode() == 200) {
        // What fraud-check said it sent, against what arrived: the egress path must not change a byte.
        boolean intact = fraud.headers().firstValue(DemoServer.BODY_DIGEST)
            .map(sent -> sent.equals(DemoServer.sha256(fraud.body()))).orElse(false);
        answer.put("status", "accepted");
        answer.put("fraud_check", new Json.Raw(fraudBody));
        answer.put("fraud_check_answer_intact", intact);
        log.write("INFO", "payment accepted", trace, Map.of("payment_id", paymentId));
        DemoServer.respondJson(exchange, 201, Json.object(answer));
        return;
      }
      answer.put("status", "failed");
      answer.put("error", "fraud-check answered " + fraud.statusCode());
      answer.put("upstream_status", fraud.statusCode());
      fraud.headers().firstValue("x-sidecar-error").ifPresent(e -> answer.put("upstream_sidecar_error", e));
      fraud.headers().firstValue("x-sidecar-circuit").ifPresent(c -> answer.put("upstream_circuit", c));
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

  private static String contentType(HttpExchange exchange) {
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
    return type == null ? "application/octet-stream" : type;
  }
}
