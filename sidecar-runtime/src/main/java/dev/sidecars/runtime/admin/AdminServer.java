package dev.sidecars.runtime.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The admin port every sidecar has: {@code /healthz}, {@code /readyz}, {@code /metrics} (Prometheus
 * text 0.0.4, or OpenMetrics when the scraper asks for it), {@code POST /shutdown} from loopback, never
 * through a proxy, and {@code /} listing them.
 */
public final class AdminServer implements AutoCloseable {
  static final String TEXT_004 = "text/plain; version=0.0.4; charset=utf-8";
  static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

  private final Undertow server;
  private final int port;

  private AdminServer(Undertow server) {
    this.server = server;
    this.port = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
  }

  /** One endpoint, as {@code /} lists it. */
  record Endpoint(String method, String path, String answer) {}

  /** What {@code /} lists, in this order. */
  static final List<Endpoint> ENDPOINTS = List.of(
      new Endpoint("GET", "/metrics",
          "Prometheus text format 0.0.4; OpenMetrics 1.0 when Accept asks for application/openmetrics-text"),
      new Endpoint("GET", "/healthz", "200 while the process is alive"),
      new Endpoint("GET", "/readyz", "200 when ready to work, else 503 with the reason"),
      new Endpoint("POST", "/shutdown", "202, then the same stop as SIGTERM (from loopback only, not through a proxy)"),
      new Endpoint("GET", "/", "this list; JSON when Accept asks for application/json"));

  /** Starts listening now, titling {@code /} with the admin port's sidecar as {@code admin}. */
  public static AdminServer start(
      String host,
      int port,
      PrometheusMeterRegistry registry,
      Readiness readiness,
      Runnable onShutdown) {
    return start(host, port, registry, readiness, onShutdown, "admin");
  }

  /**
   * Starts listening now.
   *
   * @param readiness the component's own check; {@code /readyz} also turns 503 once {@code stopping} says so
   * @param onShutdown what {@code POST /shutdown} runs (the lifecycle's exit)
   * @param title who this admin port belongs to, for {@code /}: e.g. {@code metrics-proxy 0.1.0}
   */
  public static AdminServer start(
      String host,
      int port,
      PrometheusMeterRegistry registry,
      Readiness readiness,
      Runnable onShutdown,
      String title) {
    HttpHandler handler = new Routes(registry, readiness, onShutdown, title);
    Undertow server =
        Undertow.builder()
            .setIoThreads(1)
            .setWorkerThreads(2)
            .addHttpListener(port, host)
            .setHandler(handler)
            .build();
    server.start();
    return new AdminServer(server);
  }

  public int port() {
    return port;
  }

  @Override
  public void close() {
    server.stop();
  }

  private static final class Routes implements HttpHandler {
    /**
     * Only a not-ready answer needs it; built on first use, as Jackson's databind takes about a tenth of a
     * second to load and would otherwise delay every start.
     */
    private static final class Json {
      static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private final PrometheusMeterRegistry registry;
    private final Readiness readiness;
    private final Runnable onShutdown;
    private final String title;

    Routes(PrometheusMeterRegistry registry, Readiness readiness, Runnable onShutdown, String title) {
      this.registry = registry;
      this.readiness = readiness;
      this.onShutdown = onShutdown;
      this.title = title;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
      String path = exchange.getRelativePath();
      HttpString method = exchange.getRequestMethod();
      switch (path) {
        case "/healthz" -> {
          if (allow(exchange, method, Methods.GET, Methods.HEAD)) {
            json(exchange, 200, "{\"status\":\"ok\"}");
          }
        }
        case "/readyz" -> {
          if (allow(exchange, method, Methods.GET, Methods.HEAD)) {
            Optional<String> reason = readiness.notReadyReason();
            if (reason.isEmpty()) {
              json(exchange, 200, "{\"status\":\"ready\"}");
            } else {
              json(exchange, 503, notReady(reason.get()));
            }
          }
        }
        case "/metrics" -> {
          if (allow(exchange, method, Methods.GET, Methods.HEAD)) {
            metrics(exchange);
          }
        }
        case "/shutdown" -> {
          if (allow(exchange, method, Methods.POST)) {
            shutdown(exchange);
          }
        }
        case "/", "" -> {
          if (allow(exchange, method, Methods.GET, Methods.HEAD)) {
            index(exchange);
          }
        }
        default -> json(exchange, 404, "{\"error\":\"not found; GET / lists the endpoints\"}");
      }
    }

    /** The endpoints, as text for a person with curl, or as JSON for a program that asks for it. */
    private void index(HttpServerExchange exchange) throws JsonProcessingException {
      String accept = exchange.getRequestHeaders().getFirst(Headers.ACCEPT);
      if (accept != null && accept.contains("application/json")) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("title", title);
        body.put("endpoints", ENDPOINTS);
        json(exchange, 200, Json.MAPPER.writeValueAsString(body));
        return;
      }
      StringBuilder text = new StringBuilder(title).append(": admin endpoints\n");
      for (Endpoint e : ENDPOINTS) {
        text.append(String.format("  %-4s %-9s  %s%n", e.method(), e.path(), e.answer()));
      }
      exchange.setStatusCode(200);
      exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
      exchange.getResponseSender().send(text.toString(), StandardCharsets.UTF_8);
    }

    private void metrics(HttpServerExchange exchange) throws IOException {
      if (exchange.isInIoThread()) {
        exchange.dispatch(this);
        return;
      }
      String accept = exchange.getRequestHeaders().getFirst(Headers.ACCEPT);
      String contentType =
          accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS : TEXT_004;
      ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
      registry.scrape(body, contentType);
      exchange.setStatusCode(200);
      exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType);
      exchange.getResponseSender().send(ByteBuffer.wrap(body.toByteArray()));
    }

    private void shutdown(HttpServerExchange exchange) {
      InetSocketAddress peer = exchange.getSourceAddress();
      if (peer == null || !peer.getAddress().isLoopbackAddress()) {
        json(exchange, 403, "{\"error\":\"shutdown is accepted from loopback only\"}");
        return;
      }
      if (cameThroughAProxy(exchange)) {
        // Loopback, but relayed: a proxy of the pod (the suite's add Via or X-Forwarded-For) passed on a
        // request from elsewhere, which must not stop the pod's sidecars.
        json(exchange, 403, "{\"error\":\"shutdown is not accepted through a proxy\"}");
        return;
      }
      json(exchange, 202, "{\"status\":\"shutting down\"}");
      onShutdown.run();
    }

    private static boolean cameThroughAProxy(HttpServerExchange exchange) {
      var headers = exchange.getRequestHeaders();
      return headers.contains(Headers.VIA) || headers.contains(Headers.X_FORWARDED_FOR) || headers.contains(Headers.FORWARDED);
    }

    private static boolean allow(HttpServerExchange exchange, HttpString method, HttpString... allowed) {
      StringBuilder allow = new StringBuilder();
      for (HttpString a : allowed) {
        if (a.equals(method)) {
          return true;
        }
        allow.append(allow.length() == 0 ? "" : ", ").append(a);
      }
      exchange.getResponseHeaders().put(Headers.ALLOW, allow.toString());
      json(exchange, 405, "{\"error\":\"method not allowed\"}");
      return false;
    }

    private static String notReady(String reason) {
      try {
        return Json.MAPPER.writeValueAsString(Map.of("status", "not ready", "reason", reason));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    private static void json(HttpServerExchange exchange, int status, String body) {
      exchange.setStatusCode(status);
      exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
      exchange.getResponseSender().send(body, StandardCharsets.UTF_8);
    }

  }
}
