package dev.sidecars.runtime.dns;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Netty's resolvers for a {@code Bootstrap} ({@code .resolver(group)}) that look names up with a {@link
 * HostResolver}, never on the event loop: Netty's default group calls the JDK's blocking lookup on the loop
 * that connects, stalling every exchange on it for as long as the system's resolver takes. An address
 * literal is parsed on the loop (no lookup), a fresh cached answer is taken on the loop, any other name is
 * handed to the resolver's threads and the connect goes on when the answer comes back. A name that does not
 * resolve, a full queue, or a lookup longer than {@code timeout} fails the connect with an {@link
 * UnknownHostException}, which the proxy answers 502, flagged {@code DNS_RESOLUTION_FAILED}.
 */
public final class HostResolverGroup extends AddressResolverGroup<InetSocketAddress> {
  private final HostResolver resolver;
  private final long timeoutMillis;

  /** @param timeout the longest a connect waits for its lookup (counted as {@code timeout}); zero: no limit */
  public HostResolverGroup(HostResolver resolver, Duration timeout) {
    this.resolver = resolver;
    this.timeoutMillis = timeout.toMillis();
  }

  @Override
  protected AddressResolver<InetSocketAddress> newResolver(EventExecutor loop) {
    return new OffLoopNameResolver(loop).asAddressResolver();
  }

  /** One event loop's name resolver: its promises complete, and their listeners run, on that loop. */
  private final class OffLoopNameResolver extends InetNameResolver {
    OffLoopNameResolver(EventExecutor loop) {
      super(loop);
    }

    @Override
    protected void doResolve(String host, Promise<InetAddress> promise) {
      InetAddress literal = NetUtil.createInetAddressFromIpAddressString(host); // parsed, never looked up
      if (literal != null) {
        promise.setSuccess(literal);
        return;
      }
      HostResolver.Result cached = resolver.cached(host);
      if (cached != null) {
        complete(promise, host, cached);
        return;
      }
      AtomicBoolean settled = new AtomicBoolean(); // by the answer or by the timeout, whichever comes first
      ScheduledFuture<?> timer = timeoutMillis <= 0 ? null : executor().schedule(() -> {
        if (settled.compareAndSet(false, true)) {
          resolver.timedOut();
          promise.tryFailure(new UnknownHostException("looking up " + host + " took longer than " + timeoutMillis + " ms"));
        }
      }, timeoutMillis, TimeUnit.MILLISECONDS);
      boolean queued = resolver.resolve(host, result -> {
        if (settled.compareAndSet(false, true)) {
          if (timer != null) {
            timer.cancel(false);
          }
          complete(promise, host, result);
        }
      });
      if (!queued && settled.compareAndSet(false, true)) {
        if (timer != null) {
          timer.cancel(false);
        }
        promise.tryFailure(new UnknownHostException("cannot look up " + host + " now: too many lookups are waiting"));
      }
    }

    @Override
    protected void doResolveAll(String host, Promise<List<InetAddress>> promise) {
      Promise<InetAddress> one = executor().newPromise();
      one.addListener(f -> {
        if (f.isSuccess()) {
          promise.trySuccess(List.of(one.getNow()));
        } else {
          promise.tryFailure(f.cause());
        }
      });
      doResolve(host, one);
    }

    private void complete(Promise<InetAddress> promise, String host, HostResolver.Result result) {
      if (result.resolved()) {
        promise.trySuccess(result.address());
      } else {
        promise.tryFailure(new UnknownHostException(result.failure() != null ? result.failure() : "cannot resolve " + host));
      }
    }
  }
}
