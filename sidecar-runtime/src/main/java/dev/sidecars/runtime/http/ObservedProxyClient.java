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
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.ConduitStreamSourceChannel;
import org.xnio.conduits.StreamSourceChannelWrappingConduit;
import org.xnio.conduits.StreamSourceConduit;

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
            ObservedConnection observed = new ObservedConnection(connection.getConnection(), outcome);
            // Completion listeners run last-added first: this one runs before the pool's, which takes the
            // connection back when the exchange completes.
            exchange.addExchangeCompleteListener((ex, next) -> {
              try {
                observed.exchangeComplete();
              } finally {
                next.proceed();
              }
            });
            callback.completed(exchange, new ProxyConnection(observed, connection.getTargetPath()));
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

  /**
   * The pooled connection, unchanged except for three things. The request sent on it is remembered. A
   * connection whose request was not written completely (the client went away mid-body, the app answered
   * before reading it all, a timeout) is never closed gracefully, which would end a chunked body with its
   * last chunk, nor given back to the pool, where the next request would queue behind the unfinished one:
   * it is cut ({@link ExchangeOutcome#abort}). And the response is checked on its way to the proxy ({@link
   * ObservedExchange}).
   */
  private static final class ObservedConnection extends ForwardingClientConnection {
    private final ExchangeOutcome outcome;
    private volatile ClientExchange sent;
    /** Set when the proxy closes the connection (a client gone, a timeout), not the upstream or the client library. */
    volatile boolean closedByProxy;

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
              sent = result;
              outcome.upstreamExchange(result);
              callback.completed(new ObservedExchange(result, ObservedConnection.this, outcome));
            }

            @Override
            public void failed(IOException e) {
              callback.failed(e);
            }
          });
    }

    /** Undertow's proxy closes the connection on errors and timeouts: cut it when its request is unfinished. */
    @Override
    public void close() throws IOException {
      closedByProxy = true;
      if (requestUnfinished()) {
        ExchangeOutcome.abort(delegate);
      } else {
        delegate.close();
      }
    }

    /** The client's exchange is over: the pool takes the connection back next, unless it is cut here. */
    void exchangeComplete() {
      // An upgraded connection (a WebSocket) is a tunnel of its own now; the pool never takes it back.
      if (delegate.isOpen() && !delegate.isUpgraded() && requestUnfinished()) {
        ExchangeOutcome.abort(delegate);
      }
    }

    /** A request was sent and did not reach its end: Undertow's client closes its request channel once all is written. */
    private boolean requestUnfinished() {
      ClientExchange request = sent;
      return request != null && request.getRequestChannel().isOpen();
    }
  }

  /**
   * The upstream exchange as the proxy sees it. A response whose length cannot be told (several different
   * {@code Content-Length} values, or one beside {@code Transfer-Encoding}) is not relayed: RFC 9112
   * section 6.3 has a proxy close the connection and answer 502. A response body that breaks off (a
   * reset, malformed chunking) after its head was relayed is recorded as {@link
   * ResponseFlag#UPSTREAM_RESET}, with the status the client got: Undertow's client closes a connection whose
   * response it cannot read on, and that fails the exchange after its response was given.
   */
  private static final class ObservedExchange extends ForwardingClientExchange {
    private final ClientExchange delegate;
    private final ObservedConnection connection;
    private final ExchangeOutcome outcome;

    ObservedExchange(ClientExchange delegate, ObservedConnection connection, ExchangeOutcome outcome) {
      this.delegate = delegate;
      this.connection = connection;
      this.outcome = outcome;
    }

    @Override
    protected ClientExchange delegate() {
      return delegate;
    }

    /** The observed connection, so the proxy's closing it on a response error goes through its checks too. */
    @Override
    public ClientConnection getConnection() {
      return connection;
    }

    @Override
    public void setResponseListener(ClientCallback<ClientExchange> listener) {
      delegate.setResponseListener(new ClientCallback<>() {
        @Override
        public void completed(ClientExchange result) {
          if (unframeable(result.getResponse().getResponseHeaders())) {
            outcome.upstreamProtocolError();
            connection.closedByProxy = true;
            ExchangeOutcome.abort(delegate.getConnection());
            listener.failed(new IOException("the upstream's response has conflicting Content-Length or Transfer-Encoding"));
            return;
          }
          listener.completed(ObservedExchange.this);
        }

        @Override
        public void failed(IOException e) {
          if (delegate.getResponse() != null && !connection.closedByProxy) {
            // The response's head was relayed, then the upstream broke off its body (a reset, bad chunking):
            // Undertow's client closed the connection itself, which fails the exchange it was reading.
            outcome.flag(ResponseFlag.UPSTREAM_RESET);
          }
          listener.failed(e);
        }
      });
    }

    /**
     * The body as it streams to the client, watched for a read failure: the upstream broke off mid-response.
     * (A failure writing to the client goes to the proxy's other channel and is not the upstream's.)
     */
    @Override
    public StreamSourceChannel getResponseChannel() {
      StreamSourceChannel channel = delegate.getResponseChannel();
      return new ConduitStreamSourceChannel(channel, new BrokenBodyConduit(new StreamSourceChannelWrappingConduit(channel), outcome));
    }

    private static boolean unframeable(HeaderMap headers) {
      HeaderValues lengths = headers.get(Headers.CONTENT_LENGTH);
      if (lengths == null) {
        return false;
      }
      if (headers.contains(Headers.TRANSFER_ENCODING)) {
        return true;
      }
      if (lengths.size() == 1 && lengths.getFirst().indexOf(',') < 0) {
        return false; // the usual case, one value: Undertow's client has read it already
      }
      String first = null;
      for (String value : lengths) {
        for (String part : value.split(",")) {
          String length = part.trim();
          if (first == null) {
            first = length;
          } else if (!first.equals(length)) {
            return true;
          }
        }
      }
      return false;
    }
  }

  /** Records a read failure of the upstream's response body as {@link ResponseFlag#UPSTREAM_RESET}. */
  private static final class BrokenBodyConduit extends AbstractStreamSourceConduit<StreamSourceConduit> {
    private final ExchangeOutcome outcome;

    BrokenBodyConduit(StreamSourceConduit next, ExchangeOutcome outcome) {
      super(next);
      this.outcome = outcome;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      try {
        return next.read(dst);
      } catch (IOException e) {
        throw broken(e);
      }
    }

    @Override
    public long read(ByteBuffer[] dsts, int offs, int len) throws IOException {
      try {
        return next.read(dsts, offs, len);
      } catch (IOException e) {
        throw broken(e);
      }
    }

    @Override
    public long transferTo(long position, long count, FileChannel target) throws IOException {
      try {
        return next.transferTo(position, count, target);
      } catch (IOException e) {
        throw broken(e);
      }
    }

    @Override
    public long transferTo(long count, ByteBuffer throughBuffer, StreamSinkChannel target) throws IOException {
      try {
        return next.transferTo(count, throughBuffer, target);
      } catch (IOException e) {
        throw broken(e);
      }
    }

    private IOException broken(IOException e) {
      outcome.flag(ResponseFlag.UPSTREAM_RESET);
      return e;
    }
  }
}
