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
import java.util.Map;
import java.util.Optional;

/**
 * The admin port every sidecar has: {@code /healthz}, {@code /readyz}, {@code /metrics} (Prometheus
 * text 0.0.4, or OpenMetrics when the scraper asks for it) and {@code POST /shutdown} from loopback, never
 * through a proxy.
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

  /**
   * Starts listening now.
   *
   * @param readiness the component's own check; {@code /readyz} also turns 503 once {@code stopping} says so
   * @param onShutdown what {@code POST /shutdown} runs (the lifecycle's exit)
   */
  public static AdminServer start(
      String host,
      int port,
      PrometheusMeterRegistry registry,
      Readiness readiness,
      Runnable onShutdown) {
    HttpHandler handler = new Routes(registry, readiness, onShutdown);
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

    Routes(PrometheusMeterRegistry registry, Readiness readiness, Runnable onShutdown) {
      this.registry = registry;
      this.readiness = readiness;
      this.onShutdown = onShutdown;
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
        default -> json(exchange, 404, "{\"error\":\"not found\"}");
      }
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
