package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.proxy.Forwarder;
import dev.sidecars.runtime.proxy.ProxyExchange;
import io.micrometer.core.instrument.Counter;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;

/**
 * Picks the endpoint of each attempt of one upstream's requests: the {@link Forwarder.Router} of each call.
 *
 * <ul>
 *   <li>Balancing: "power of two choices" (two random endpoints) by cost, the moving average of the
 *       endpoint's response time times its outstanding requests plus one; so a slow endpoint, or one
 *       that piles up requests, gets fewer new ones.
 *   <li>Outlier ejection: {@code ejectAfter} gateway failures in a row (no connection, reset, 502, 503,
 *       504) take an endpoint out for {@code ejectFor}; it comes back by itself. The last endpoint left
 *       is never ejected.
 *   <li>Retries: what the forwarder offers (a refused connect, whatever the request; a reset before the
 *       response, or a 503 answer, of a bodiless idempotent request) goes to another endpoint when there is
 *       one. A gRPC call is retried only when refused: nothing of it was sent (its body is not kept for a
 *       resend). Every retry must fit in the {@link RetryBudget} and waits its {@link Backoff}; at most
 *       {@code maxRetries} per request.
 * </ul>
 */
public final class EndpointBalancer {
  /** Weight of the newest response time in an endpoint's moving average. */
  private static final double LATENCY_WEIGHT = 0.3;

  private final List<Endpoint> endpoints;
  private final RetryBudget budget;
  private final Backoff backoff;
  private final int maxRetries;
  private final Counter retries;
  private final int ejectAfter;
  private final Duration ejectFor;
  private final LongSupplier nanoClock;
  private final IntUnaryOperator random;

  EndpointBalancer(
      List<Endpoint> endpoints,
      RetryBudget budget,
      Backoff backoff,
      int maxRetries,
      Counter retries,
      int ejectAfter,
      Duration ejectFor,
      LongSupplier nanoClock,
      IntUnaryOperator random) {
    this.endpoints = List.copyOf(endpoints);
    this.budget = budget;
    this.backoff = backoff;
    this.maxRetries = maxRetries;
    this.retries = retries;
    this.ejectAfter = ejectAfter;
    this.ejectFor = ejectFor;
    this.nanoClock = nanoClock;
    this.random = random;
  }

  /** The router of one call: its first attempt, and the retries it is allowed. */
  Forwarder.Router router(CallState state) {
    return new Forwarder.Router() {
      @Override
      public Forwarder.Destination route(ProxyExchange exchange) {
        if (state.attempts() == 0) {
          budget.deposit();
          state.countAttempt();
        }
        return attempt(exchange, state, null);
      }

      @Override
      public boolean retry(ProxyExchange exchange, Forwarder.Failure failure, Consumer<Forwarder.Destination> again) {
        return EndpointBalancer.this.retry(exchange, state, failure, again);
      }
    };
  }

  /** The next attempt's endpoint, its slot taken; the request's {@code Host} is the one a direct call to it would send. */
  private Forwarder.Destination attempt(ProxyExchange exchange, CallState state, Endpoint avoid) {
    Endpoint endpoint = takeEndpoint(state, avoid);
    exchange.request().headers().set(HttpHeaderNames.HOST, endpoint.authority);
    return endpoint.destination;
  }

  private boolean retry(ProxyExchange exchange, CallState state, Forwarder.Failure failure,
      Consumer<Forwarder.Destination> again) {
    Endpoint failed = state.release();
    if (failed != null) {
      failed.outstanding.decrementAndGet();
      failure(failed);
    }
    if (failure != Forwarder.Failure.REFUSED && isGrpc(exchange)) {
      return false;
    }
    if (state.attempts() > maxRetries) {
      return false;
    }
    if (!budget.tryWithdraw()) {
      state.budgetExhausted();
      return false;
    }
    retries.increment();
    long wait = backoff.before(state.attempts()).toNanos();
    // Recorded before the wait: should the forwarder answer meanwhile (UPSTREAM_TIMEOUT), the exchange's end
    // finds no slot to give back, and the attempt below is not made.
    state.countAttempt();
    Endpoint previous = state.endpoint();
    Runnable next = () -> {
      if (!exchange.isComplete()) {
        again.accept(attempt(exchange, state, previous));
      }
    };
    if (wait <= 0) {
      next.run();
    } else {
      exchange.eventLoop().schedule(next, wait, TimeUnit.NANOSECONDS);
    }
    return true;
  }

  private static boolean isGrpc(ProxyExchange exchange) {
    String type = exchange.request().headers().get(HttpHeaderNames.CONTENT_TYPE);
    return type != null && type.regionMatches(true, 0, "application/grpc", 0, 16);
  }

  /**
   * Chooses the endpoint of the next attempt and takes one of its slots, given back exactly once: by
   * {@link #finished} or a retry.
   */
  private Endpoint takeEndpoint(CallState state, Endpoint avoid) {
    Endpoint endpoint = choose(avoid);
    state.startAttempt(endpoint, nanoClock.getAsLong());
    endpoint.outstanding.incrementAndGet();
    return endpoint;
  }

  /** The exchange is complete: release the endpoint and count the outcome. */
  void finished(CallState state, boolean gatewayFailure) {
    Endpoint endpoint = state.release();
    if (endpoint == null) {
      return;
    }
    endpoint.outstanding.decrementAndGet();
    if (gatewayFailure) {
      failure(endpoint);
    } else {
      endpoint.onSuccess();
      endpoint.observeLatency(nanoClock.getAsLong() - state.attemptStart(), LATENCY_WEIGHT);
    }
  }

  private void failure(Endpoint endpoint) {
    if (endpoint.onFailure(ejectAfter)) {
      long now = nanoClock.getAsLong();
      long available = endpoints.stream().filter(e -> !e.isEjected(now)).count();
      if (available > 1) {
        endpoint.eject(now + ejectFor.toNanos());
      }
    }
  }

  /** Power of two choices by cost, among endpoints not ejected, avoiding the one just tried if possible. */
  Endpoint choose(Endpoint avoid) {
    long now = nanoClock.getAsLong();
    List<Endpoint> candidates = new ArrayList<>(endpoints.size());
    for (Endpoint e : endpoints) {
      if (!e.isEjected(now) && e != avoid) {
        candidates.add(e);
      }
    }
    if (candidates.isEmpty()) {
      for (Endpoint e : endpoints) {
        if (!e.isEjected(now)) {
          candidates.add(e);
        }
      }
    }
    if (candidates.isEmpty()) {
      candidates.addAll(endpoints);
    }
    if (candidates.size() == 1) {
      return candidates.get(0);
    }
    int a = random.applyAsInt(candidates.size());
    int b = random.applyAsInt(candidates.size() - 1);
    if (b >= a) {
      b++;
    }
    Endpoint first = candidates.get(a);
    Endpoint second = candidates.get(b);
    return second.cost() < first.cost() ? second : first;
  }

  /** Endpoints ejected now, for the gauge. */
  int ejected() {
    long now = nanoClock.getAsLong();
    return (int) endpoints.stream().filter(e -> e.isEjected(now)).count();
  }

  List<Endpoint> endpoints() {
    return endpoints;
  }
}
