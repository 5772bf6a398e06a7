package dev.sidecars.demo.services;

import com.sun.net.httpserver.HttpExchange;
import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fraud-check service of the demo: {@code POST /check} scores a payment (a JSON object) and answers a
 * verdict, or 400 when the body is not a JSON object. It knows nothing of OpenTelemetry; it logs a JSON line
 * with the trace id it was handed.
 *
 * <p>Environment: {@code PORT} (default 8081; 0 picks a free one), {@code LOG_FILE} (default
 * {@code fraud-check.log}).
 */
public final class FraudCheckService {
  private final JsonLog log;

  FraudCheckService(JsonLog log) {
    this.log = log;
  }

  public static void main(String[] args) {
    Settings env = Settings.fromEnvironment();
    int port = env.port("PORT", 8081);
    Path logFile = Path.of(env.string("LOG_FILE", "fraud-check.log"));
    DemoServer.validateOrExit(env);
    JsonLog log = new JsonLog(logFile, "fraud-check", Clock.systemUTC());
    FraudCheckService service = new FraudCheckService(log);
    DemoServer.start("fraud-check", port, service::handle, log);
  }

  void handle(HttpExchange exchange) throws IOException {
    if (!DemoServer.isPostTo(exchange, "/check")) {
      return;
    }
    TraceHeaders trace = TraceHeaders.from(exchange.getRequestHeaders());
    byte[] body = DemoServer.readBody(exchange);
    String digest = DemoServer.sha256(body);
    try {
      JsonBody.object(body);
    } catch (JsonBody.NotAnObject e) {
      log.write("WARN", "fraud check refused: " + e.getMessage(), trace, Map.of("request_bytes", body.length));
      DemoServer.respondJson(exchange, 400, Json.object(Map.of("error", e.getMessage())));
      return;
    }
    // A stable score from the payment itself, so the same payment always gets the same verdict.
    int score = Integer.parseInt(digest.substring(0, 2), 16) * 100 / 255;
    String verdict = score >= 90 ? "review" : "approve";
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("verdict", verdict);
    answer.put("score", score);
    // The digest is for the end-to-end tests, which check that no hop changed a byte: logged, not answered.
    log.write("INFO", "fraud check " + verdict, trace,
        Map.of("score", score, "request_bytes", body.length, "request_sha256", digest));
    DemoServer.respondJson(exchange, 200, Json.object(answer));
  }
}
