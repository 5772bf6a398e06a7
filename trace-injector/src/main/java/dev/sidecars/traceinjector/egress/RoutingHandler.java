package dev.sidecars.traceinjector.egress;

import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.proxy.ExchangeHandler;
import dev.sidecars.runtime.proxy.ProxyExchange;
import dev.sidecars.traceinjector.routing.Destination;
import dev.sidecars.traceinjector.routing.Router;
import dev.sidecars.traceinjector.upstream.CallState;
import dev.sidecars.traceinjector.upstream.Upstream;
import dev.sidecars.traceinjector.upstream.Upstreams;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.util.AsciiString;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.semconv.ServerAttributes;
import io.opentelemetry.semconv.UrlAttributes;
import java.net.URI;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The egress part between the shared {@code TelemetryHandler} (which made the CLIENT span and rewrote the
 * propagation headers) and the upstream: refuse a request that has already been through this sidecar (a
 * forwarding loop, 508), route it ({@link Router}), refuse a destination the {@link EgressPolicy} does not
 * allow (403), resolve a host name off the event loop ({@link EgressResolution}), label the call with the
 * upstream's name, keep or make its {@code X-Request-Id}, add this hop to {@code Via}, point the request line
 * at the upstream's path, add the span attributes only the egress side knows ({@code peer.service}, {@code
 * server.port}, {@code url.full}), and mark every 502/503/504 the sidecar makes itself with {@link
 * #SIDECAR_ERROR}. A {@code CONNECT} never gets here ({@link ConnectGate}).
 */
public final class RoutingHandler implements ExchangeHandler {
  /** Kept when the app sends one, made (a random UUID) when it does not. */
  public static final AsciiString REQUEST_ID = AsciiString.cached("x-request-id");
  /** On answers the sidecar made itself: why, as the span's {@code error.type} says it. */
  public static final AsciiString SIDECAR_ERROR = AsciiString.cached("x-sidecar-error");

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
  public void handle(ProxyExchange exchange) {
    HttpHeaders headers = exchange.request().headers();
    String via = headers.get(HttpHeaderNames.VIA);
    if (via != null && via.contains(pseudonym)) {
      refuse(exchange, new EgressResolution.Refused(ResponseFlag.LOOP_DETECTED, 508,
          "the request came back to this sidecar: a forwarding loop"));
      return;
    }
    Optional<Destination> routed = router.route(exchange.request().uri(), headers.get(HttpHeaderNames.HOST));
    if (routed.isEmpty()) {
      answer(exchange, 400, "name the service as http://localhost:15002/<service>/<path>, with a Host header,"
          + " or send an absolute URL (HTTP_PROXY)", null);
      return;
    }
    Destination destination = routed.get();
    Optional<Upstream> listed = upstreams.listed(destination.service());
    if (listed.isPresent()) {
      proceed(exchange, destination, listed.get());
      return;
    }
    // The telemetry handler's span is current only while it calls us; a resolved call goes on later.
    Context context = Context.current();
    egress.resolve(exchange, destination.service(), destination.port(), false, (ex, result) -> {
      if (result instanceof EgressResolution.Refused refusal) {
        refuse(ex, refusal);
        return;
      }
      try (Scope ignored = context.makeCurrent()) {
        proceed(ex, destination, upstreams.dynamic(destination, ((EgressResolution.Allowed) result).address()));
      }
    });
  }

  private void proceed(ProxyExchange exchange, Destination destination, Upstream upstream) {
    Span span = Span.current();
    exchange.target(upstream.name());
    span.setAttribute(PEER_SERVICE, destination.service());

    HttpHeaders headers = exchange.request().headers();
    if (!headers.contains(REQUEST_ID)) {
      headers.set(REQUEST_ID, requestIds.get());
    }
    // Meant for this proxy, never for the service behind it.
    headers.remove(HttpHeaderNames.PROXY_AUTHORIZATION);
    String via = headers.get(HttpHeaderNames.VIA);
    headers.set(HttpHeaderNames.VIA, via == null ? viaEntry : via + ", " + viaEntry);
    exchange.request().setUri(destination.pathAndQuery());

    CallState state = upstream.newCall();
    // Registered before the guard's own listener, so it runs after the guard has named the failure.
    exchange.onResponseHead((ex, response) -> {
      int status = response.status().code();
      ResponseFlag flag = ex.flag();
      if (flag != null && !ex.upstreamResponded() && (status == 502 || status == 503 || status == 504)) {
        response.headers().set(SIDECAR_ERROR, flag.errorType() + (state.isBudgetExhausted() ? "; retry_budget_exhausted" : ""));
      }
    });
    upstream.handle(exchange, state, () -> describe(exchange, span, state));
  }

  /** Answers {@code refusal} itself: flagged, with {@link #SIDECAR_ERROR} saying why. */
  public static void refuse(ProxyExchange exchange, EgressResolution.Refused refusal) {
    exchange.flag(refusal.flag());
    HttpHeaders headers = new DefaultHttpHeaders().set(SIDECAR_ERROR, refusal.flag().errorType());
    if (HttpMethod.CONNECT.equals(exchange.request().method())) {
      exchange.closeConnection(); // the client meant to speak something else on this connection
    }
    answer(exchange, refusal.status(), refusal.reason(), headers);
  }

  private static void describe(ProxyExchange exchange, Span span, CallState state) {
    URI endpoint = state.endpointUri();
    if (endpoint != null) {
      String base = endpoint.toString();
      if (base.endsWith("/")) {
        base = base.substring(0, base.length() - 1);
      }
      span.setAttribute(ServerAttributes.SERVER_PORT, (long) endpoint.getPort());
      span.setAttribute(UrlAttributes.URL_FULL, base + exchange.request().uri());
    }
    if (state.attempts() > 1) {
      span.setAttribute(RESEND_COUNT, (long) state.attempts() - 1);
    }
  }

  static void answer(ProxyExchange exchange, int status, String message, HttpHeaders headers) {
    exchange.respond(status, "trace-injector: " + message, headers);
  }
}
