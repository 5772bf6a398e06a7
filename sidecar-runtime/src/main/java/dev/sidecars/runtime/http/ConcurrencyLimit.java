package dev.sidecars.runtime.http;

import java.util.concurrent.atomic.AtomicInteger;

/** A bound on requests in flight; beyond it the proxy answers 503 at once instead of queueing. */
public final class ConcurrencyLimit {
  private final int max;
  private final AtomicInteger inFlight = new AtomicInteger();

  /** @param max requests allowed in flight at once; 0 means unlimited */
  public ConcurrencyLimit(int max) {
    this.max = max;
  }

  /** Takes a slot; false when all are taken. Every {@code true} must be followed by one {@link #release()}. */
  public boolean tryAcquire() {
    if (max <= 0) {
      inFlight.incrementAndGet();
      return true;
    }
    while (true) {
      int current = inFlight.get();
      if (current >= max) {
        return false;
      }
      if (inFlight.compareAndSet(current, current + 1)) {
        return true;
      }
    }
  }

  public void release() {
    inFlight.decrementAndGet();
  }

  public int inFlight() {
    return inFlight.get();
  }
}
