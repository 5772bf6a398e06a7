package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.authz.AuthorizationPolicy;
import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.http.RouteTemplates;
import dev.sidecars.runtime.proxy.ExchangeHandler;
import dev.sidecars.runtime.proxy.ProxyExchange;
import dev.sidecars.runtime.proxy.TelemetryHandler;
import dev.sidecars.runtime.tls.TlsPeer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * {@code AUTHZ_POLICY} in front of the application: a request the policy does not allow for its caller's
 * verified identity is answered 403 by the proxy (flag {@code UNAUTHORIZED}) and never reaches the
 * application; counted in {@code authz_denied_total{route, identity}}, the identity label bounded by the
 * policy ({@link AuthorizationPolicy#label}).
 */
final class AuthorizationHandler implements ExchangeHandler {
  private final ExchangeHandler next;
  private final AuthorizationPolicy policy;
  private final RouteTemplates routes;
  private final MeterRegistry meters;

  AuthorizationHandler(ExchangeHandler next, AuthorizationPolicy policy, RouteTemplates routes, MeterRegistry meters) {
    this.next = next;
    this.policy = policy;
    this.routes = routes;
    this.meters = meters;
  }

  @Override
  public void handle(ProxyExchange exchange) {
    String uri = exchange.request().uri();
    String identity = exchange.tls().flatMap(TlsPeer::identity).orElse(null);
    if (policy.allows(exchange.request().method().name(), uri, identity)) {
      next.handle(exchange);
      return;
    }
    Counter.builder("authz.denied")
        .description("Requests refused by AUTHZ_POLICY (403), by route and caller identity")
        .tag("route", routes.label(TelemetryHandler.path(uri)))
        .tag("identity", policy.label(identity))
        .register(meters)
        .increment();
    exchange.flag(ResponseFlag.UNAUTHORIZED);
    exchange.respond(403, "forbidden: " + (identity == null ? "a caller without a client certificate" : identity)
        + " may not " + exchange.request().method().name() + " this path (AUTHZ_POLICY)", null);
  }
}
