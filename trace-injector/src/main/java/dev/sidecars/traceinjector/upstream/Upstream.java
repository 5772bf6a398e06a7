package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.http.CircuitBreaker;
import dev.sidecars.runtime.http.ConcurrencyLimit;
import dev.sidecars.runtime.proxy.ExchangeGuard;
import dev.sidecars.runtime.proxy.ExchangeHandler;
import dev.sidecars.runtime.proxy.Forwarder;
import dev.sidecars.runtime.proxy.GrpcDeadline;
import dev.sidecars.runtime.proxy.ProxyExchange;
import dev.sidecars.runtime.proxy.UpstreamClient;
import dev.sidecars.runtime.proxy.UpstreamProtocol;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;

/**
 * One named service behind the sidecar: the shared {@link Forwarder} with this upstream's timeout, routed
 * by this module's {@link EndpointBalancer} over the shared {@link UpstreamClient}'s pools, guarded by the
 * shared {@link ExchangeGuard} with this upstream's {@link CircuitBreaker}; and its meters, all tagged
 * {@code server_address}: requests in flight, retries, breaker state and ejected endpoints.
 */
public final class Upstream implements AutoCloseable {
  private final String name;
  private final EndpointBalancer balancer;
  private final UpstreamClient client;
  private final Duration timeout;
  private final ConcurrencyLimit limit;
  private final CircuitBreaker breaker;
  private final AtomicInteger active = new AtomicInteger();
  private final List<Meter> meters = new ArrayList<>();
  private final MeterRegistry registry;

  /**
   * @param urls the endpoints to balance over
   * @param authority the {@code Host} sent to them, or {@code null} for each URL's own host and port (a DNS name's
   *     upstream is given the address it resolved to, and keeps the name here)
   * @param protocol how requests go to them
   * @param tls how connections to a URL speak TLS ({@code null}: cleartext)
   */
  Upstream(
      String name,
      List<URI> urls,
      String authority,
      UpstreamProtocol protocol,
      java.util.function.Function<URI, dev.sidecars.runtime.proxy.Endpoint.Tls> tls,
      UpstreamPolicy policy,
      UpstreamClient client,
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
    this.client = client;
    this.limit = limit;
    this.timeout = policy.timeoutFor(name);
    List<Endpoint> endpoints = new ArrayList<>();
    for (URI url : urls) {
      endpoints.add(new Endpoint(url, authority != null ? authority : url.getHost() + ":" + url.getPort(), protocol,
          tls.apply(url)));
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
    this.breaker = new CircuitBreaker(policy.breakerFailures(), policy.breakerOpen(), nanoClock);
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

  /** The balancer's record of a new call, for {@link #handle}. */
  public CallState newCall() {
    return new CallState();
  }

  /**
   * Passes the exchange through the guard to the forwarder, its attempts routed by the balancer; calls
   * {@code done} once it completes (before the exchange's telemetry ends).
   */
  public void handle(ProxyExchange exchange, CallState state, Runnable done) {
    active.incrementAndGet();
    exchange.onComplete(() -> {
      active.decrementAndGet();
      int status = exchange.status();
      balancer.finished(state, status == 502 || status == 503 || status == 504);
      done.run();
    });
    // A gRPC call's grpc-timeout bounds it too, within this upstream's timeout.
    ExchangeHandler forward = new GrpcDeadline(new Forwarder(client, balancer.router(state), timeout), timeout);
    new ExchangeGuard(forward, breaker, limit, ExchangeGuard.Limits.NONE).handle(exchange);
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

  /** Lets go of the pooled connections: idle ones close now, busy ones when their exchanges end. */
  void closeConnections() {
    for (Endpoint e : balancer.endpoints()) {
      client.forget(e.destination.endpoint());
    }
  }

  @Override
  public void close() {
    removeMeters();
    closeConnections();
  }
}
