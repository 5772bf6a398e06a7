package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.http.CircuitBreaker;
import dev.sidecars.runtime.http.ConcurrencyLimit;
import dev.sidecars.runtime.http.ObservedProxyClient;
import dev.sidecars.runtime.http.UpstreamGuard;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.proxy.LoadBalancingProxyClient;
import io.undertow.server.handlers.proxy.ProxyHandler;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;

/**
 * One named service behind the sidecar: Undertow's {@link ProxyHandler} with this upstream's timeout
 * over the shared {@link ObservedProxyClient} and this module's {@link EndpointBalancer}, guarded by the
 * shared {@link UpstreamGuard} with this upstream's {@link CircuitBreaker}; and its meters, all tagged
 * {@code server_address}: requests in flight, retries, breaker state and ejected endpoints.
 */
public final class Upstream implements AutoCloseable {
  private final String name;
  private final EndpointBalancer balancer;
  private final HttpHandler guarded;
  private final CircuitBreaker breaker;
  private final AtomicInteger active = new AtomicInteger();
  private final List<Meter> meters = new ArrayList<>();
  private final MeterRegistry registry;

  /**
   * @param urls the endpoints to balance over
   * @param authority the {@code Host} sent to them, or {@code null} for each URL's own host and port (a DNS name's
   *     upstream is given the address it resolved to, and keeps the name here)
   */
  Upstream(
      String name,
      List<URI> urls,
      String authority,
      UpstreamPolicy policy,
      ConcurrencyLimit limit,
      MeterRegistry registry,
      LongSupplier nanoClock,
      DoubleSupplier jitter,
      IntUnaryOperator random) {
    this.name = name;
    this.registry = registry;
    Tags tags = Tags.of("server_address", name);
    Counter retries = Counter.builder("trace_injector.upstream.retries")
        .description("Retries of requests to the upstream").tags(tags).register(registry);
    meters.add(retries);
    List<Endpoint> endpoints = new ArrayList<>();
    // Undertow's client never tries the same host entry twice for one request, so an endpoint is
    // entered once per possible attempt: a retry may then go to the same endpoint on a new connection
    // (what a reset keep-alive connection or a single-URL upstream needs). The pool is split among them.
    int attempts = policy.maxRetries() + 1;
    for (URI url : urls) {
      // A full pool makes a call wait: taken for a refused connect, it would count against a healthy
      // endpoint and be retried. The concurrency limit already bounds the waiting calls.
      LoadBalancingProxyClient client = ObservedProxyClient.pooledClient(
          Math.max(1, policy.connectionsPerThread() / attempts), policy.maxConcurrentRequests());
      for (int i = 0; i < attempts; i++) {
        client.addHost(url, "attempt-" + i, null, ObservedProxyClient.UPSTREAM_OPTIONS);
      }
      endpoints.add(new Endpoint(url, authority != null ? authority : url.getHost() + ":" + url.getPort(), client,
          client.findTarget(null)));
    }
    this.balancer = new EndpointBalancer(
        endpoints,
        new RetryBudget(policy.retryBudgetRatio(), policy.retryBudgetReserve(), 10),
        new Backoff(policy.backoffBase(), policy.backoffMax(), jitter),
        policy.maxRetries(),
        retries,
        policy.ejectAfter(),
        policy.ejectFor(),
        nanoClock,
        random);
    ProxyHandler proxy = ProxyHandler.builder()
        .setProxyClient(new ObservedProxyClient(balancer))
        .setMaxRequestTime((int) Math.min(Integer.MAX_VALUE, policy.timeoutFor(name).toMillis()))
        // Undertow re-asks the balancer after a reset of an idempotent request; the balancer bounds it.
        .setMaxConnectionRetries(policy.maxRetries())
        .setRewriteHostHeader(false)
        .setReuseXForwarded(true)
        .build();
    this.breaker = new CircuitBreaker(policy.breakerFailures(), policy.breakerOpen(), nanoClock);
    this.guarded = new UpstreamGuard(proxy, breaker, limit, UpstreamGuard.Limits.NONE);
    meters.add(Gauge.builder("trace_injector.upstream.active_requests", active, AtomicInteger::get)
        .description("Requests to the upstream in flight").tags(tags).register(registry));
    meters.add(Gauge.builder("trace_injector.upstream.breaker_state", breaker, b -> stateValue(b.state()))
        .description("Circuit breaker: 0 closed, 1 half-open, 2 open").tags(tags).register(registry));
    meters.add(Gauge.builder("trace_injector.upstream.ejected_endpoints", balancer, EndpointBalancer::ejected)
        .description("Endpoints ejected as outliers now").tags(tags).register(registry));
  }

  private static int stateValue(CircuitBreaker.State state) {
    return switch (state) {
      case CLOSED -> 0;
      case HALF_OPEN -> 1;
      case OPEN -> 2;
    };
  }

  public String name() {
    return name;
  }

  /** Passes the exchange through the guard to Undertow's proxy; calls {@code done} once it completes. */
  public void handle(HttpServerExchange exchange, Runnable done) throws Exception {
    CallState state = CallState.of(exchange);
    active.incrementAndGet();
    exchange.addExchangeCompleteListener((ex, next) -> {
      try {
        active.decrementAndGet();
        int status = ex.getStatusCode();
        balancer.finished(state, status == 502 || status == 503 || status == 504);
        done.run();
      } finally {
        next.proceed();
      }
    });
    guarded.handleRequest(exchange);
  }

  /**
   * Requests holding a slot on one of this upstream's endpoints now, the count the balancer's cost uses;
   * 0 whenever nothing is in flight.
   */
  int outstanding() {
    return balancer.endpoints().stream().mapToInt(e -> e.outstanding.get()).sum();
  }

  /** The first endpoint's URL (the address a DNS name's upstream was made for). */
  URI firstUrl() {
    return balancer.endpoints().get(0).uri;
  }

  /** Takes this upstream's meters off the registry, so another one for the same name can register its own. */
  void removeMeters() {
    meters.forEach(registry::remove);
  }

  /** Closes the pooled connections; this can wait for the I/O threads that used them. */
  void closeConnections() {
    for (Endpoint e : balancer.endpoints()) {
      e.client.closeCurrentConnections();
    }
  }

  @Override
  public void close() {
    removeMeters();
    closeConnections();
  }
}
