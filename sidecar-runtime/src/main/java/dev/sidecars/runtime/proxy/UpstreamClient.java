package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.runtime.dns.HostResolverGroup;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.FastThreadLocal;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A proxy's connections to its upstreams: per endpoint and per event loop a {@link UpstreamPool} (keep-alive
 * HTTP/1.1 connections, multiplexed h2c connections), so an exchange is forwarded on the thread that read it.
 * An upstream's host name is looked up by the proxy's {@link HostResolver}, off the event loops, when a
 * connection is made; looking it up, and then connecting, each give up after the connect timeout. An idle
 * HTTP/1.1 connection is not reused after half the idle timeout (the upstream may be closing it).
 */
public final class UpstreamClient {
  /** How long connecting may take before the exchange is answered 502 (Envoy's default connect timeout). */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);

  /** The largest response status line and headers read from an upstream. */
  static final int MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

  private final io.netty.channel.EventLoopGroup group;
  private final ByteBufAllocator allocator;
  private final AddressResolverGroup<InetSocketAddress> resolvers;
  private final int connectTimeoutMillis;
  private final long idleNanos;
  private final int maxHttp1Connections;
  private final FastThreadLocal<Map<Endpoint, UpstreamPool>> pools = new FastThreadLocal<>() {
    @Override
    protected Map<Endpoint, UpstreamPool> initialValue() {
      return new HashMap<>();
    }
  };

  /**
   * @param resolver looks up the upstreams' host names (the caller closes it)
   * @param connectTimeout how long looking a name up, and then connecting, may each take before the exchange
   *     fails (502: {@code DNS_RESOLUTION_FAILED}, {@code UPSTREAM_REFUSED})
   * @param idleTimeout idle HTTP/1.1 connections are not reused after half of it
   */
  public UpstreamClient(ProxyEventLoops loops, HostResolver resolver, Duration connectTimeout, Duration idleTimeout) {
    this(loops, resolver, connectTimeout, idleTimeout, Integer.MAX_VALUE);
  }

  /**
   * @param maxHttp1Connections HTTP/1.1 connections per endpoint and event loop, lent or idle; an exchange
   *     finding them all lent waits for one (within its timeout)
   */
  public UpstreamClient(ProxyEventLoops loops, HostResolver resolver, Duration connectTimeout, Duration idleTimeout,
      int maxHttp1Connections) {
    this.maxHttp1Connections = maxHttp1Connections;
    this.resolvers = new HostResolverGroup(resolver, connectTimeout);
    this.group = loops.group();
    this.allocator = loops.allocator();
    this.connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis());
    this.idleNanos = idleTimeout.toNanos() / 2;
  }

  /**
   * A stream to {@code endpoint} for an exchange running on {@code loop} (called on it); with {@code
   * fallBack}, HTTP/1.1 when the endpoint was found not to speak h2c.
   */
  void acquire(Endpoint endpoint, boolean http2, boolean fallBack, EventLoop loop, UpstreamPool.Waiter waiter) {
    Map<Endpoint, UpstreamPool> byEndpoint = pools.get();
    UpstreamPool pool = byEndpoint.get(endpoint);
    if (pool == null) {
      pool = new UpstreamPool(endpoint, loop, this);
      byEndpoint.put(endpoint, pool);
    }
    pool.acquire(http2, fallBack, waiter);
  }

  /**
   * Lets go of the connections to {@code endpoint} on every event loop (an egress proxy's upstream that went
   * away): idle ones close now, busy ones once their exchanges end. A later exchange to it connects anew.
   */
  public void forget(Endpoint endpoint) {
    for (io.netty.util.concurrent.EventExecutor loop : group) {
      loop.execute(() -> {
        UpstreamPool pool = pools.get().remove(endpoint);
        if (pool != null) {
          pool.retire();
        }
      });
    }
  }

  int maxHttp1Connections() {
    return maxHttp1Connections;
  }

  ByteBufAllocator allocator() {
    return allocator;
  }

  /** For a connect's {@code Bootstrap}: names looked up off the event loop. */
  AddressResolverGroup<InetSocketAddress> resolvers() {
    return resolvers;
  }

  int connectTimeoutMillis() {
    return connectTimeoutMillis;
  }

  long idleNanos() {
    return idleNanos;
  }
}
