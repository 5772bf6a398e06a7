package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.http.ExchangeOutcome;
import dev.sidecars.runtime.http.ResponseFlag;
import io.micrometer.core.instrument.Counter;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.proxy.ProxyCallback;
import io.undertow.server.handlers.proxy.ProxyClient;
import io.undertow.server.handlers.proxy.ProxyConnection;
import io.undertow.util.Headers;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;
import org.xnio.ChannelListeners;
import org.xnio.IoUtils;
import org.xnio.channels.StreamSinkChannel;

/**
 * The {@link ProxyClient} of one upstream, in front of one pooled Undertow client per endpoint.
 *
 * <ul>
 *   <li>Balancing: "power of two choices" (two random endpoints) by cost, the moving average of the
 *       endpoint's response time times its outstanding requests plus one; so a slow endpoint, or one
 *       that piles up requests, gets fewer new ones.
 *   <li>Outlier ejection: {@code ejectAfter} gateway failures in a row (no connection, reset, 502, 503,
 *       504) take an endpoint out for {@code ejectFor}; it comes back by itself. The last endpoint left
 *       is never ejected.
 *   <li>Retries: a failed connect is retried here, on another endpoint when there is one; a reset
 *       before the response of an idempotent request is retried by Undertow's {@code ProxyHandler},
 *       which asks here again; a 503 answer to a bodiless idempotent request is resent here ({@link
 *       ResendingExchange}) before the proxy sees it. Every retry must fit in the {@link RetryBudget}
 *       and waits its {@link Backoff}; at most {@code maxRetries} per request.
 * </ul>
 *
 * Retrying connects here rather than in {@code ProxyHandler} keeps failed attempts out of the shared
 * {@code ExchangeOutcome}: a request whose retry succeeded is not reported as refused.
 */
public final class EndpointBalancer implements ProxyClient {
  private static final ProxyTarget TARGET = new ProxyTarget() {};
  private static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE");
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

  @Override
  public ProxyTarget findTarget(HttpServerExchange exchange) {
    return TARGET;
  }

  @Override
  public void getConnection(
      ProxyTarget target,
      HttpServerExchange exchange,
      ProxyCallback<ProxyConnection> callback,
      long timeout,
      TimeUnit unit) {
    CallState state = CallState.of(exchange);
    if (state.attempts() == 0) {
      budget.deposit();
      state.countAttempt();
      connect(exchange, state, null, callback, timeout, unit);
      return;
    }
    // Undertow asks again after the connection broke before a response (idempotent requests only).
    Endpoint broken = state.release();
    if (broken != null) {
      broken.outstanding.decrementAndGet();
      failure(broken);
      state.failed(ResponseFlag.UPSTREAM_RESET);
    }
    retry(exchange, state, state.endpoint(), callback, timeout, unit);
  }

  /**
   * Whether the proxy has already answered the client (its {@code UPSTREAM_TIMEOUT} fired, say): then no
   * attempt may start any more, as its request would reach the upstream after the client got its answer.
   */
  private static boolean answered(HttpServerExchange exchange) {
    return exchange.isResponseStarted() || exchange.isComplete();
  }

  private void retry(
      HttpServerExchange exchange,
      CallState state,
      Endpoint previous,
      ProxyCallback<ProxyConnection> callback,
      long timeout,
      TimeUnit unit) {
    if (answered(exchange)) {
      return;
    }
    if (state.attempts() > maxRetries) {
      giveUp(exchange, state, callback);
      return;
    }
    if (!budget.tryWithdraw()) {
      state.budgetExhausted();
      giveUp(exchange, state, callback);
      return;
    }
    retries.increment();
    long wait = backoff.before(state.attempts()).toNanos();
    // Recorded before the wait; the proxy may time the exchange out meanwhile, and then it stays answered.
    state.countAttempt();
    Runnable again = () -> {
      if (!answered(exchange)) {
        connect(exchange, state, previous, callback, timeout, unit);
      }
    };
    if (wait <= 0) {
      again.run();
    } else {
      exchange.getIoThread().executeAfter(again, wait, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * No retry for this exchange: the proxy answers, for the reason the last attempt failed. Set here, as
   * the shared client wrapper calls any "no backend" a refused connect, and an earlier attempt may have
   * left a reason of its own (a full pool) that the last one went past.
   */
  private static void giveUp(HttpServerExchange exchange, CallState state, ProxyCallback<ProxyConnection> callback) {
    ExchangeOutcome.of(exchange).replaceFlag(state.lastFailure());
    callback.couldNotResolveBackend(exchange);
  }

  private void connect(
      HttpServerExchange exchange,
      CallState state,
      Endpoint avoid,
      ProxyCallback<ProxyConnection> callback,
      long timeout,
      TimeUnit unit) {
    Endpoint endpoint = takeEndpoint(state, avoid);
    // The Host a direct call to this URL would send, not the service name the app used.
    exchange.getRequestHeaders().put(Headers.HOST, endpoint.authority);
    endpoint.client.getConnection(endpoint.target, exchange, new ProxyCallback<>() {
      @Override
      public void completed(HttpServerExchange ex, ProxyConnection connection) {
        if (answered(ex)) {
          abandon(endpoint, connection);
          return;
        }
        state.connected();
        if (!resendable(ex)) {
          callback.completed(ex, connection);
          return;
        }
        ResendingExchange.Resender resender = (unavailable, next) -> resend(ex, state, unavailable, next, timeout, unit);
        callback.completed(ex, new ProxyConnection(
            ResendingExchange.on(connection.getConnection(), resender), connection.getTargetPath()));
      }

      @Override
      public void failed(HttpServerExchange ex) {
        connectFailed(ex, endpoint, state, callback, timeout, unit);
      }

      @Override
      public void couldNotResolveBackend(HttpServerExchange ex) {
        // The endpoint's own client keeps a host it could not reach out for a moment: a failed connect.
        connectFailed(ex, endpoint, state, callback, timeout, unit);
      }

      @Override
      public void queuedRequestFailed(HttpServerExchange ex) {
        endpoint.outstanding.decrementAndGet();
        callback.queuedRequestFailed(ex);
      }
    }, timeout, unit);
  }

  private void connectFailed(
      HttpServerExchange exchange,
      Endpoint endpoint,
      CallState state,
      ProxyCallback<ProxyConnection> callback,
      long timeout,
      TimeUnit unit) {
    refused(endpoint, state);
    retry(exchange, state, endpoint, callback, timeout, unit);
  }

  /** Idempotent and without a body: nothing but the request head to send again. */
  private static boolean resendable(HttpServerExchange exchange) {
    return IDEMPOTENT.contains(exchange.getRequestMethod().toString())
        && exchange.getRequestContentLength() <= 0
        && !exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING);
  }

  /**
   * The upstream answered 503: if a retry is allowed, drop that answer with its connection and send the
   * request head to another endpoint after the backoff; {@code next} gets the new exchange's response.
   */
  private boolean resend(
      HttpServerExchange exchange,
      CallState state,
      ClientExchange unavailable,
      ClientCallback<ClientExchange> next,
      long timeout,
      TimeUnit unit) {
    if (state.attempts() > maxRetries) {
      return false;
    }
    if (!budget.tryWithdraw()) {
      state.budgetExhausted();
      return false;
    }
    retries.increment();
    Endpoint previous = state.endpoint();
    Endpoint released = state.release();
    if (released != null) {
      released.outstanding.decrementAndGet();
      failure(released);
    }
    IoUtils.safeClose(unavailable.getConnection());
    ClientRequest request = unavailable.getRequest();
    long wait = backoff.before(state.attempts()).toNanos();
    // Recorded before the wait: should the proxy answer meanwhile (UPSTREAM_TIMEOUT), the exchange's end
    // finds no connection to give back, and the resend below sees the answer and is dropped.
    state.countAttempt();
    Runnable again = () -> {
      if (answered(exchange)) {
        return;
      }
      Endpoint endpoint = takeEndpoint(state, previous);
      request.getRequestHeaders().put(Headers.HOST, endpoint.authority);
      endpoint.client.getConnection(endpoint.target, exchange, new ProxyCallback<>() {
        @Override
        public void completed(HttpServerExchange ex, ProxyConnection connection) {
          if (answered(ex)) {
            abandon(endpoint, connection);
            return;
          }
          state.connected();
          connection.getConnection().sendRequest(request, new ClientCallback<>() {
            @Override
            public void completed(ClientExchange sent) {
              endRequestBody(sent);
              sent.setResponseListener(next);
            }

            @Override
            public void failed(IOException e) {
              next.failed(e);
            }
          });
        }

        @Override
        public void failed(HttpServerExchange ex) {
          gone(endpoint);
        }

        @Override
        public void couldNotResolveBackend(HttpServerExchange ex) {
          gone(endpoint);
        }

        @Override
        public void queuedRequestFailed(HttpServerExchange ex) {
          gone(endpoint);
        }

        private void gone(Endpoint endpoint) {
          refused(endpoint, state);
          next.failed(new IOException("no connection to resend to " + endpoint));
        }
      }, timeout, unit);
    };
    if (wait <= 0) {
      again.run();
    } else {
      exchange.getIoThread().executeAfter(again, wait, TimeUnit.NANOSECONDS);
    }
    return true;
  }

  private static void endRequestBody(ClientExchange sent) {
    StreamSinkChannel body = sent.getRequestChannel();
    try {
      body.shutdownWrites();
      if (!body.flush()) {
        body.getWriteSetter().set(ChannelListeners.flushingChannelListener(null, (channel, e) -> IoUtils.safeClose(channel)));
        body.resumeWrites();
      }
    } catch (IOException e) {
      IoUtils.safeClose(sent.getConnection());
    }
  }

  /**
   * Chooses the endpoint of the next attempt and takes one of its slots, given back exactly once: by
   * {@link #finished}, {@link #refused} or {@link #abandon}.
   */
  private Endpoint takeEndpoint(CallState state, Endpoint avoid) {
    Endpoint endpoint = choose(avoid);
    state.startAttempt(endpoint, nanoClock.getAsLong());
    endpoint.outstanding.incrementAndGet();
    return endpoint;
  }

  /** The attempt got no connection: its slot back, a failure counted against the endpoint. */
  private void refused(Endpoint endpoint, CallState state) {
    endpoint.outstanding.decrementAndGet();
    failure(endpoint);
    state.failed(ResponseFlag.UPSTREAM_REFUSED);
  }

  /** A connection that came after the proxy had answered: nothing will be sent on it. */
  private static void abandon(Endpoint endpoint, ProxyConnection connection) {
    endpoint.outstanding.decrementAndGet();
    IoUtils.safeClose(connection.getConnection());
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
