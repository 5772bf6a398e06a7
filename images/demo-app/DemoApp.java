import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;

/**
 * The small app of the end-to-end check: answers HTTP on APP_PORT, writes one JSON log line per request to
 * APP_LOG_FILE (with the trace id of the incoming traceparent, so logs join traces), and on /call makes an
 * outbound request through the trace-injector at TRACE_INJECTOR_URL to CALL_TARGET.
 */
public final class DemoApp {
  private final Path logFile;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private DemoApp(Path logFile) {
    this.logFile = logFile;
  }

  public static void main(String[] args) throws IOException {
    int port = Integer.parseInt(System.getenv().getOrDefault("APP_PORT", "8080"));
    Path log = Path.of(System.getenv().getOrDefault("APP_LOG_FILE", "/var/log/app/app.log"));
    Files.createDirectories(log.getParent());
    DemoApp app = new DemoApp(log);
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 64);
    server.createContext("/", app::handle);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    app.log("INFO", "demo app listening on " + port, null);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(1)));
  }

  private void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    String traceparent = exchange.getRequestHeaders().getFirst("traceparent");
    int status = 200;
    String body;
    if (path.equals("/healthz")) {
      body = "ok\n";
    } else if (path.equals("/call")) {
      body = callOut(traceparent);
      log("INFO", "called out: " + body.strip(), traceparent);
    } else {
      body = "hello from the demo app: " + exchange.getRequestMethod() + " " + path + "\n";
      log("INFO", "served " + exchange.getRequestMethod() + " " + path, traceparent);
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private String callOut(String traceparent) {
    String injector = System.getenv("TRACE_INJECTOR_URL");
    String target = System.getenv().getOrDefault("CALL_TARGET", "collector/api/services");
    if (injector == null) {
      return "no TRACE_INJECTOR_URL\n";
    }
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(injector + "/" + target))
        .timeout(Duration.ofSeconds(10));
    if (traceparent != null) {
      request.header("traceparent", traceparent);
    }
    try {
      HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return "status " + response.statusCode() + "\n";
    } catch (IOException e) {
      return "failed: " + e + "\n";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted\n";
    }
  }

  private synchronized void log(String level, String message, String traceparent) {
    StringBuilder line = new StringBuilder()
        .append("{\"timestamp\":\"").append(Instant.now()).append("\",\"level\":\"").append(level)
        .append("\",\"message\":\"").append(message.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    if (traceparent != null && traceparent.length() == 55) {
      line.append(",\"trace_id\":\"").append(traceparent, 3, 35)
          .append("\",\"span_id\":\"").append(traceparent, 36, 52).append('"');
    }
    line.append("}\n");
    try {
      Files.writeString(logFile, line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
