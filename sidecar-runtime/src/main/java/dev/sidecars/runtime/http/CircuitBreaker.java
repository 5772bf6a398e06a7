package dev.sidecars.runtime.http;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * A consecutive-failure circuit breaker (Envoy's {@code consecutive_local_origin_failure} outlier
 * detection, for one upstream). Closed: every call may go. After {@code threshold} failures in a row it
 * opens: calls are refused for {@code openFor}. Then it is half-open: exactly one call (the probe) may go;
 * its success closes the breaker, its failure opens it for another {@code openFor}.
 *
 * <p>Time comes from an injected {@code nanoTime} source so tests move it instead of waiting.
 */
public final class CircuitBreaker {
  /** The breaker's state, as shown in metrics and logs. */
  public enum State {
    CLOSED,
    OPEN,
    HALF_OPEN
  }

  /** A caller's permission to call the upstream; report how it went exactly once. */
  public interface Permit {
    void onSuccess();

    void onFailure();
  }

  private final int threshold;
  private final long openForNanos;
  private final LongSupplier nanoTime;
  private final AtomicBoolean probeInFlight = new AtomicBoolean();
  private final Object lock = new Object();
  private int consecutiveFailures;
  private long openedAt;
  private boolean open;

  /**
   * @param threshold consecutive failures that open the breaker (at least 1)
   * @param openFor how long it refuses calls before letting one probe through
   * @param nanoTime the clock, {@code System::nanoTime} in production
   */
  public CircuitBreaker(int threshold, Duration openFor, LongSupplier nanoTime) {
    if (threshold < 1) {
      throw new IllegalArgumentException("threshold must be at least 1");
    }
    this.threshold = threshold;
    this.openForNanos = openFor.toNanos();
    this.nanoTime = nanoTime;
  }

  /** A permit when a call may go now, or {@code null} when the breaker refuses it. */
  public Permit tryAcquire() {
    synchronized (lock) {
      if (!open) {
        return closedPermit;
      }
      if (nanoTime.getAsLong() - openedAt < openForNanos) {
        return null;
      }
    }
    // Half-open: one probe at a time.
    return probeInFlight.compareAndSet(false, true) ? probePermit : null;
  }

  public State state() {
    synchronized (lock) {
      if (!open) {
        return State.CLOSED;
      }
      return nanoTime.getAsLong() - openedAt < openForNanos ? State.OPEN : State.HALF_OPEN;
    }
  }

  private final Permit closedPermit =
      new Permit() {
        @Override
        public void onSuccess() {
          synchronized (lock) {
            consecutiveFailures = 0;
          }
        }

        @Override
        public void onFailure() {
          synchronized (lock) {
            if (!open && ++consecutiveFailures >= threshold) {
              open = true;
              openedAt = nanoTime.getAsLong();
            }
          }
        }
      };

  private final Permit probePermit =
      new Permit() {
        @Override
        public void onSuccess() {
          synchronized (lock) {
            open = false;
            consecutiveFailures = 0;
          }
          probeInFlight.set(false);
        }

        @Override
        public void onFailure() {
          synchronized (lock) {
            openedAt = nanoTime.getAsLong();
          }
          probeInFlight.set(false);
        }
      };
}
