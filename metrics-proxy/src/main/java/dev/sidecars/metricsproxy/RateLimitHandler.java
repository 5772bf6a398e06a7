package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.authz.AuthorizationPolicy;
import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.http.RouteTemplates;
import dev.sidecars.runtime.proxy.ExchangeHandler;
import dev.sidecars.runtime.proxy.ProxyExchange;
import dev.sidecars.runtime.proxy.TelemetryHandler;
import dev.sidecars.runtime.ratelimit.RateLimitDecision;
import dev.sidecars.runtime.ratelimit.RateLimits;
import dev.sidecars.runtime.tls.TlsPeer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * {@code RATE_LIMITS} in front of the application: a request over its route's limit (or its caller's) is
 * answered 429 with {@code Retry-After} by the proxy (flag {@code RATE_LIMITED}) and never reaches the
 * application; counted in {@code rate_limited_total{route, identity}} (identity bounded by {@code
 * AUTHZ_POLICY}'s names). For a gRPC request the proxy's own answers are turned into a gRPC status by the
 * gRPC answers decorator outside this one: {@code RATE_LIMITED} is {@code RESOURCE_EXHAUSTED}.
 */
final class RateLimitHandler implements ExchangeHandler {
  private final ExchangeHandler next;
  private final RateLimits limits;
  private final RouteTemplates routes;
  private final AuthorizationPolicy policy;
  private final MeterRegistry meters;

  RateLimitHandler(ExchangeHandler next, RateLimits limits, RouteTemplates routes, AuthorizationPolicy policy,
      MeterRegistry meters) {
    this.next = next;
    this.limits = limits;
    this.routes = routes;
    this.policy = policy;
    this.meters = meters;
  }

  @Override
  public void handle(ProxyExchange exchange) {
    String route = routes.label(TelemetryHandler.path(exchange.request().uri()));
    String identity = exchange.tls().flatMap(TlsPeer::identity).orElse(null);
    RateLimitDecision decision = limits.check(route, identity);
    if (decision.allowed()) {
      next.handle(exchange);
      return;
    }
    Counter.builder("rate.limited")
        .description("Requests refused by RATE_LIMITS (429), by route and caller identity")
        .tag("route", route)
        .tag("identity", policy.label(identity))
        .register(meters)
        .increment();
    exchange.flag(ResponseFlag.RATE_LIMITED);
    HttpHeaders headers = new DefaultHttpHeaders().setInt(HttpHeaderNames.RETRY_AFTER, (int) decision.retryAfterSeconds());
    exchange.respond(429, "too many requests: over the limit " + decision.limit() + " (RATE_LIMITS)", headers);
  }
}
