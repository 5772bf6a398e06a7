package dev.sidecars.traceinjector.egress;

import dev.sidecars.runtime.http.ExchangeOutcome;
import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.traceinjector.routing.Destination;
import dev.sidecars.traceinjector.routing.Router;
import dev.sidecars.traceinjector.upstream.CallState;
import dev.sidecars.traceinjector.upstream.Upstream;
import dev.sidecars.traceinjector.upstream.Upstreams;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.semconv.ServerAttributes;
import io.opentelemetry.semconv.UrlAttributes;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.net.URI;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The egress part between the shared {@code HttpTelemetryHandler} (which made the CLIENT span and rewrote the
 * propagation headers) and the upstream: route the request ({@link Router}), label it with the
 * upstream's name, keep or make its {@code X-Request-Id}, point the request line at the upstream's path,
 * add the span attributes only the egress side knows ({@code peer.service}, {@code server.port}, {@code
 * url.full}), and mark every 502/503/504 the sidecar makes itself with {@link #SIDECAR_ERROR}.
 */
public final class RoutingHandler implements HttpHandler {
  /** Kept when the app sends one, made (a random UUID) when it does not. */
  public static final HttpString REQUEST_ID = HttpString.tryFromString("X-Request-Id");
  /** On answers the sidecar made itself: why, as the span's {@code error.type} says it. */
  public static final HttpString SIDECAR_ERROR = HttpString.tryFromString("X-Sidecar-Error");

  static final AttributeKey<String> PEER_SERVICE = AttributeKey.stringKey("peer.service");
  private static final AttributeKey<Long> RESEND_COUNT = AttributeKey.longKey("http.request.resend_count");

  private final Router router;
  private final Upstreams upstreams;
  private final Supplier<String> requestIds;

  public RoutingHandler(Router router, Upstreams upstreams, Supplier<String> requestIds) {
    this.router = router;
    this.upstreams = upstreams;
    this.requestIds = requestIds;
  }

  /** Random UUIDs, the usual {@code X-Request-Id}. */
  public static Supplier<String> randomRequestIds() {
    return () -> UUID.randomUUID().toString();
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    // The shared telemetry handler makes the span current while it calls us.
    Span span = Span.current();
    Optional<Destination> routed = router.route(exchange);
    if (routed.isEmpty()) {
      answer(exchange, 400, "name the service as http://localhost:15002/<service>/<path>, with a Host header,"
          + " or send an absolute URL (HTTP_PROXY)");
      return;
    }
    Destination destination = routed.get();
    Optional<Upstream> resolved = upstreams.resolve(destination);
    if (resolved.isEmpty()) {
      answer(exchange, 400, "cannot call " + destination.service());
      return;
    }
    Upstream upstream = resolved.get();
    ExchangeOutcome outcome = ExchangeOutcome.of(exchange);
    outcome.target(upstream.name());
    span.setAttribute(PEER_SERVICE, destination.service());

    if (!exchange.getRequestHeaders().contains(REQUEST_ID)) {
      exchange.getRequestHeaders().put(REQUEST_ID, requestIds.get());
    }
    // Meant for this proxy, never for the service behind it.
    exchange.getRequestHeaders().remove(Headers.PROXY_AUTHORIZATION);

    String path = pathOnly(destination.pathAndQuery());
    exchange.setRequestURI(path, false);
    exchange.setRequestPath(path);
    exchange.setRelativePath(path);

    // Registered before the guard's own listener, so it runs after the guard has named the failure.
    exchange.addResponseCommitListener(ex -> markSidecarError(ex, outcome));
    CallState state = CallState.of(exchange);
    upstream.handle(exchange, () -> describe(exchange, span, state));
  }

  private static void describe(HttpServerExchange exchange, Span span, CallState state) {
    URI endpoint = state.endpointUri();
    if (endpoint != null) {
      String base = endpoint.toString();
      if (base.endsWith("/")) {
        base = base.substring(0, base.length() - 1);
      }
      String query = exchange.getQueryString();
      span.setAttribute(ServerAttributes.SERVER_PORT, (long) endpoint.getPort());
      span.setAttribute(UrlAttributes.URL_FULL, base + exchange.getRequestURI() + (query == null || query.isEmpty() ? "" : "?" + query));
    }
    if (state.attempts() > 1) {
      span.setAttribute(RESEND_COUNT, (long) state.attempts() - 1);
    }
  }

  private static void markSidecarError(HttpServerExchange exchange, ExchangeOutcome outcome) {
    int status = exchange.getStatusCode();
    Optional<ResponseFlag> flag = outcome.flag();
    if (flag.isPresent() && !outcome.upstreamResponded() && (status == 502 || status == 503 || status == 504)) {
      CallState state = CallState.of(exchange);
      exchange.getResponseHeaders().put(SIDECAR_ERROR,
          flag.get().errorType() + (state.isBudgetExhausted() ? "; retry_budget_exhausted" : ""));
    }
  }

  private static String pathOnly(String pathAndQuery) {
    int q = pathAndQuery.indexOf('?');
    return q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
  }

  private static void answer(HttpServerExchange exchange, int status, String message) {
    exchange.setStatusCode(status);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
    exchange.getResponseSender().send("trace-injector: " + message + "\n");
  }

}
