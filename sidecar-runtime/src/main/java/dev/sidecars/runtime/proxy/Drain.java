package dev.sidecars.runtime.proxy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Outermost decorator for a clean stop. Once the sidecar's stop has begun ({@code stopping}), every
 * HTTP/1.1 answer closes its connection ({@code Connection: close}), so keep-alive clients reconnect, and
 * reach another endpoint, instead of reusing a connection to a proxy that is draining. After {@link
 * #shutdown()} new exchanges are refused while those in flight finish: an HTTP/2 stream is reset with
 * REFUSED_STREAM (not processed, so clients retry it elsewhere; gRPC clients transparently), an HTTP/1.1
 * request is answered 503, closing its connection;
 * {@link #awaitIdle} waits for them. HTTP/2 clients are told by the listener's GOAWAY ({@link
 * ProxyServer#goAway()}).
 */
public final class Drain implements ExchangeHandler {
  private final ExchangeHandler next;
  private final BooleanSupplier stopping;
  private final AtomicInteger active = new AtomicInteger();
  private final Object idle = new Object();
  private volatile boolean shutdown;

  public Drain(ExchangeHandler next, BooleanSupplier stopping) {
    this.next = next;
    this.stopping = stopping;
  }

  @Override
  public void handle(ProxyExchange exchange) {
    if (shutdown) {
      // HTTP/2: REFUSED_STREAM, so the client sends it again elsewhere; HTTP/1.1: 503 and Connection: close.
      exchange.refuseStream("shutting down");
      return;
    }
    if (stopping.getAsBoolean()) {
      exchange.closeConnection();
    }
    active.incrementAndGet();
    exchange.onComplete(() -> {
      if (active.decrementAndGet() == 0 && shutdown) {
        synchronized (idle) {
          idle.notifyAll();
        }
      }
    });
    next.handle(exchange);
  }

  /** From now on new exchanges get 503. */
  public void shutdown() {
    shutdown = true;
  }

  /** Exchanges in flight. */
  public int active() {
    return active.get();
  }

  /** Waits until no exchange is in flight, at most {@code timeout}; whether none is. */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (idle) {
      while (active.get() > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(idle, left);
      }
    }
    return true;
  }
}
