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
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.semconv.ServerAttributes;
import io.opentelemetry.semconv.UrlAttributes;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.net.URI;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The egress part between the shared {@code HttpTelemetryHandler} (which made the CLIENT span and rewrote the
 * propagation headers) and the upstream: refuse a request that has already been through this sidecar (a
 * forwarding loop, 508), route it ({@link Router}), refuse a destination the {@link EgressPolicy} does not
 * allow (403), resolve a host name off the I/O thread ({@link EgressResolution}), label the call with the
 * upstream's name, keep or make its {@code X-Request-Id}, add this hop to {@code Via}, point the request line
 * at the upstream's path, add the span attributes only the egress side knows ({@code peer.service}, {@code
 * server.port}, {@code url.full}), and mark every 502/503/504 the sidecar makes itself with {@link
 * #SIDECAR_ERROR}. A {@code CONNECT} gets here only to be refused ({@link ConnectGate} tunnels the others).
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
  private final EgressResolution egress;
  private final Supplier<String> requestIds;
  private final String pseudonym;
  private final String viaEntry;

  /**
   * @param pseudonym this sidecar's name in {@code Via}, unique to the process: a request that carries it has
   *     looped back
   */
  public RoutingHandler(Router router, Upstreams upstreams, EgressResolution egress, Supplier<String> requestIds,
      String pseudonym) {
    this.router = router;
    this.upstreams = upstreams;
    this.egress = egress;
    this.requestIds = requestIds;
    this.pseudonym = pseudonym;
    this.viaEntry = "1.1 " + pseudonym;
  }

  /** Random UUIDs, the usual {@code X-Request-Id}. */
  public static Supplier<String> randomRequestIds() {
    return () -> UUID.randomUUID().toString();
  }

  /** A {@code Via} pseudonym unique to this process, e.g. {@code trace-injector-3f9a0c1d}. */
  public static String randomPseudonym() {
    return "trace-injector-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    ExchangeOutcome outcome = ExchangeOutcome.of(exchange);
    Optional<EgressResolution.Refused> refused = EgressResolution.refusal(exchange);
    if (refused.isPresent()) {
      refuse(exchange, outcome, refused.get());
      return;
    }
    HeaderMap headers = exchange.getRequestHeaders();
    String via = headers.getFirst(Headers.VIA);
    if (via != null && via.contains(pseudonym)) {
      refuse(exchange, outcome, new EgressResolution.Refused(ResponseFlag.LOOP_DETECTED, 508,
          "the request came back to this sidecar: a forwarding loop"));
      return;
    }
    Optional<Destination> routed = router.route(exchange);
    if (routed.isEmpty()) {
      answer(exchange, 400, "name the service as http://localhost:15002/<service>/<path>, with a Host header,"
          + " or send an absolute URL (HTTP_PROXY)");
      return;
    }
    Destination destination = routed.get();
    Optional<Upstream> listed = upstreams.listed(destination.service());
    if (listed.isPresent()) {
      proceed(exchange, outcome, destination, listed.get());
      return;
    }
    // The telemetry handler's span is current only while it calls us; a resolved call goes on later.
    Context context = Context.current();
    egress.resolve(exchange, destination.service(), destination.port(), false, (ex, result) -> {
      if (result instanceof EgressResolution.Refused refusal) {
        refuse(ex, outcome, refusal);
        return;
      }
      try (Scope ignored = context.makeCurrent()) {
        proceed(ex, outcome, destination, upstreams.dynamic(destination, ((EgressResolution.Allowed) result).address()));
      }
    });
  }

  private void proceed(HttpServerExchange exchange, ExchangeOutcome outcome, Destination destination, Upstream upstream)
      throws Exception {
    Span span = Span.current();
    outcome.target(upstream.name());
    span.setAttribute(PEER_SERVICE, destination.service());

    HeaderMap headers = exchange.getRequestHeaders();
    if (!headers.contains(REQUEST_ID)) {
      headers.put(REQUEST_ID, requestIds.get());
    }
    // Meant for this proxy, never for the service behind it.
    headers.remove(Headers.PROXY_AUTHORIZATION);
    String via = headers.getFirst(Headers.VIA);
    headers.put(Headers.VIA, via == null ? viaEntry : via + ", " + viaEntry);

    String path = pathOnly(destination.pathAndQuery());
    exchange.setRequestURI(path, false);
    exchange.setRequestPath(path);
    exchange.setRelativePath(path);

    // Registered before the guard's own listener, so it runs after the guard has named the failure.
    exchange.addResponseCommitListener(ex -> markSidecarError(ex, outcome));
    CallState state = CallState.of(exchange);
    upstream.handle(exchange, () -> describe(exchange, span, state));
  }

  private static void refuse(HttpServerExchange exchange, ExchangeOutcome outcome, EgressResolution.Refused refusal) {
    outcome.flag(refusal.flag());
    exchange.getResponseHeaders().put(SIDECAR_ERROR, refusal.flag().errorType());
    if (exchange.getRequestMethod().equals(Methods.CONNECT)) {
      exchange.setPersistent(false); // the client meant to speak something else on this connection
    }
    answer(exchange, refusal.status(), refusal.reason());
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

  static void answer(HttpServerExchange exchange, int status, String message) {
    exchange.setStatusCode(status);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
    exchange.getResponseSender().send("trace-injector: " + message + "\n");
  }
}
