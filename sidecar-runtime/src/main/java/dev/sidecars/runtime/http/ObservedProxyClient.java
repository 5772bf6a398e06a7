package dev.sidecars.runtime.http;

import io.undertow.client.ClientCallback;
import io.undertow.client.ClientConnection;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.proxy.LoadBalancingProxyClient;
import io.undertow.server.handlers.proxy.ProxyCallback;
import io.undertow.server.handlers.proxy.ProxyClient;
import io.undertow.server.handlers.proxy.ProxyConnection;
import io.undertow.server.handlers.proxy.ProxyHandler;
import io.undertow.predicate.Predicates;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.xnio.OptionMap;
import org.xnio.Options;

/**
 * Wraps Undertow's {@link ProxyClient} (normally a pooled {@code LoadBalancingProxyClient}) to record in
 * the {@link ExchangeOutcome} what {@link ProxyHandler} does not expose: that connecting failed, when the
 * upstream connection was obtained, and whether the upstream answered. {@link UpstreamGuard} uses this to
 * tell the proxy's own 502/503/504 from the upstream's.
 */
public final class ObservedProxyClient implements ProxyClient {
  private final ProxyClient delegate;

  public ObservedProxyClient(ProxyClient delegate) {
    this.delegate = delegate;
  }

  /**
   * Undertow's {@link ProxyHandler} over {@code client}, set up as a transparent sidecar hop: the whole
   * exchange bounded by {@code upstreamTimeout} (zero: unbounded; on expiry it answers 504), no retries
   * (a sidecar must not multiply requests), the Host header kept, and {@code X-Forwarded-For} appended to.
   */
  public static ProxyHandler proxyHandler(ProxyClient client, Duration upstreamTimeout) {
    return ProxyHandler.builder()
        .setProxyClient(new ObservedProxyClient(client))
        .setMaxRequestTime((int) Math.min(Integer.MAX_VALUE, upstreamTimeout.toMillis()))
        .setMaxConnectionRetries(0)
        .setIdempotentRequestPredicate(Predicates.falsePredicate())
        .setRewriteHostHeader(false)
        .setReuseXForwarded(true)
        .build();
  }

  /** Options of every upstream host: Nagle's algorithm would hold a small request back for a delayed ACK. */
  public static final OptionMap UPSTREAM_OPTIONS = OptionMap.create(Options.TCP_NODELAY, true);

  /**
   * The buffer size of a proxy's server, whose pool the upstream connections share. Undertow sizes its
   * buffers by the heap when none is set: 1 KiB under a 128 MB heap, which is what a 256 MiB container
   * gets, so a 1 KiB answer plus its headers took two buffers and two writes each way. 16 KiB (less
   * room Undertow keeps for framing), its own size for larger heaps, cut the proxy's CPU per request by
   * about a tenth at 1000 requests/s (BENCHMARKS.md) for well under a megabyte of pooled buffers.
   */
  public static final int BUFFER_BYTES = 16 * 1024 - 20;

  /**
   * A pooled client of at most {@code connectionsPerThread} keep-alive connections per host and IO thread,
   * where a request finding them all busy waits for one, as Envoy's pending requests do, instead of being
   * answered at once; at most {@code maxWaiting} wait (0: no bound beyond the callers' own). Without the
   * queue Undertow fails such a request, which a proxy would pass on as a 503 or take for a refused connect.
   * Add hosts after any other setting: Undertow reads the pool's sizes when a host is added.
   */
  public static LoadBalancingProxyClient pooledClient(int connectionsPerThread, int maxWaiting) {
    return new LoadBalancingProxyClient()
        .setConnectionsPerThread(connectionsPerThread)
        .setMaxQueueSize(maxWaiting > 0 ? maxWaiting : Integer.MAX_VALUE)
        .setProblemServerRetry(1);
  }

  @Override
  public ProxyTarget findTarget(HttpServerExchange exchange) {
    return delegate.findTarget(exchange);
  }

  @Override
  public List<ProxyTarget> getAllTargets() {
    return delegate.getAllTargets();
  }

  @Override
  public void getConnection(
      ProxyTarget target,
      HttpServerExchange exchange,
      ProxyCallback<ProxyConnection> callback,
      long timeout,
      TimeUnit timeUnit) {
    ExchangeOutcome outcome = ExchangeOutcome.of(exchange);
    delegate.getConnection(
        target,
        exchange,
        new ProxyCallback<>() {
          @Override
          public void completed(HttpServerExchange exchange, ProxyConnection connection) {
            outcome.upstreamStarted(System.nanoTime());
            callback.completed(
                exchange,
                new ProxyConnection(new ObservedConnection(connection.getConnection(), outcome), connection.getTargetPath()));
          }

          @Override
          public void failed(HttpServerExchange exchange) {
            outcome.flag(ResponseFlag.UPSTREAM_REFUSED);
            callback.failed(exchange);
          }

          @Override
          public void couldNotResolveBackend(HttpServerExchange exchange) {
            // LoadBalancingProxyClient has no host left: the only one recently failed to connect.
            outcome.flag(ResponseFlag.UPSTREAM_REFUSED);
            callback.couldNotResolveBackend(exchange);
          }

          @Override
          public void queuedRequestFailed(HttpServerExchange exchange) {
            outcome.flag(ResponseFlag.OVERLOAD);
            callback.queuedRequestFailed(exchange);
          }
        },
        timeout,
        timeUnit);
  }

  /** The pooled connection, unchanged except that the request sent on it is remembered. */
  private static final class ObservedConnection extends ForwardingClientConnection {
    private final ExchangeOutcome outcome;

    ObservedConnection(ClientConnection delegate, ExchangeOutcome outcome) {
      super(delegate);
      this.outcome = outcome;
    }

    @Override
    public void sendRequest(ClientRequest request, ClientCallback<ClientExchange> callback) {
      delegate.sendRequest(
          request,
          new ClientCallback<>() {
            @Override
            public void completed(ClientExchange result) {
              outcome.upstreamExchange(result);
              callback.completed(result);
            }

            @Override
            public void failed(IOException e) {
              callback.failed(e);
            }
          });
    }
  }
}
