package dev.sidecars.demo.services;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.sidecars.runtime.StartLine;
import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The JDK HTTP server both demo services run on: bound to loopback, a start line in the shape every
 * component of the suite prints ({@code payment demo listening on http=PORT}), and a clean exit on SIGTERM.
 * Every answer carries {@code X-Body-SHA256} of its body, so a test can tell that nothing in between
 * changed it.
 */
public final class DemoServer {
  /** The header with the hex SHA-256 of the answer's body, set by the service itself. */
  public static final String BODY_DIGEST = "X-Body-SHA256";

  private final HttpServer server;
  private final ExecutorService workers;

  private DemoServer(HttpServer server, ExecutorService workers) {
    this.server = server;
    this.workers = workers;
  }

  /** Starts on {@code port} (0: a free one), prints the start line, and stops cleanly on SIGTERM. */
  public static DemoServer start(String name, int port, HttpHandler handler, AutoCloseable onStop) {
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
      ExecutorService workers = Executors.newFixedThreadPool(16);
      server.setExecutor(workers);
      server.createContext("/", exchange -> {
        try (exchange) {
          handler.handle(exchange);
        } catch (RuntimeException | IOException e) {
          // The exchange is closed by now if the answer had started; otherwise the client sees a reset.
          System.err.println(name + ": " + e);
        }
      });
      server.start();
      DemoServer demo = new DemoServer(server, workers);
      System.out.println(StartLine.format(name, "demo", Map.of("http", server.getAddress().getPort())));
      System.out.flush();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        demo.stop();
        try {
          onStop.close();
        } catch (Exception e) {
          // exiting anyway
        }
        // SIGTERM is how this service is asked to stop, so it is a clean exit, not status 143.
        Runtime.getRuntime().halt(0);
      }, name + "-stop"));
      return demo;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on port " + port, e);
    }
  }

  /** Lets requests in flight finish (at most 2 s), then closes the port. */
  public void stop() {
    server.stop(2);
    workers.shutdown();
    try {
      workers.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Ends the process with one line per bad variable and status 2, like every component of the suite, when
   * {@code env} recorded problems.
   */
  public static void validateOrExit(Settings env) {
    try {
      env.validate();
    } catch (ConfigException e) {
      e.problems().forEach(System.err::println);
      System.exit(2);
    }
  }

  /** An {@code http(s)://} URL from {@code name}, or a problem recorded against it. */
  public static String url(Settings env, String name, String defaultValue) {
    String value = env.string(name, defaultValue);
    if (!value.matches("https?://[^\\s/]+(/\\S*)?")) {
      env.problem(name, value, "an http:// or https:// URL");
    }
    return value.replaceAll("/+$", "");
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /**
   * Answers {@code /healthz} (200), other paths (404) and other methods (405) itself, and returns true only
   * for a {@code POST} to {@code path}, which the service then serves.
   */
  public static boolean isPostTo(HttpExchange exchange, String path) throws IOException {
    String requested = exchange.getRequestURI().getPath();
    if (requested.equals("/healthz")) {
      respond(exchange, 200, "text/plain", "ok\n".getBytes(StandardCharsets.UTF_8));
      return false;
    }
    if (!requested.equals(path)) {
      respondJson(exchange, 404, "{\"error\":\"no such path\"}");
      return false;
    }
    if (!exchange.getRequestMethod().equals("POST")) {
      exchange.getResponseHeaders().set("Allow", "POST");
      respondJson(exchange, 405, "{\"error\":\"POST only\"}");
      return false;
    }
    return true;
  }

  public static byte[] readBody(HttpExchange exchange) throws IOException {
    try (InputStream in = exchange.getRequestBody()) {
      return in.readAllBytes();
    }
  }

  /** Sends {@code body} with its digest header and an explicit length. */
  public static void respond(HttpExchange exchange, int status, String contentType, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.getResponseHeaders().set(BODY_DIGEST, sha256(body));
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** Sends one JSON value and a newline, so that {@code curl} leaves the prompt on a line of its own. */
  public static void respondJson(HttpExchange exchange, int status, String json) throws IOException {
    respond(exchange, status, "application/json", (json + "\n").getBytes(StandardCharsets.UTF_8));
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
