package dev.sidecars.runtime.ratelimit;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One token bucket kept as a single number, GCRA-style (the "theoretical arrival time" of RFC 2697's
 * cousin, as in Redis-cell and Envoy's descendants): {@code tat} is when the bucket would be full again.
 * Taking a token moves it one interval later, unless that would put it more than {@code burst} intervals
 * ahead of now. One compare-and-set per request, no lock, exact under contention.
 *
 * <p>Time is nanoseconds from the limiter's clock and compared by subtraction, so any origin works.
 */
final class TokenBucket {
  /** {@link #tryTake} result: a token was taken. */
  static final long TAKEN = 0;
  /** {@link #tryTake} result: the bucket left its table; look it up again. */
  static final long RETIRED = -1;
  private static final long RETIRED_MARK = Long.MIN_VALUE;

  private final long interval;
  private final long capacity;
  private final AtomicLong tat;

  /** A full bucket. */
  TokenBucket(long intervalNanos, long burst, long now) {
    this.interval = intervalNanos;
    this.capacity = Math.multiplyExact(intervalNanos, burst);
    this.tat = new AtomicLong(now);
  }

  /** {@link #TAKEN}, {@link #RETIRED}, or how many nanoseconds until a token will be there. */
  long tryTake(long now) {
    while (true) {
      long t = tat.get();
      if (t == RETIRED_MARK) {
        return RETIRED;
      }
      long next = (t - now > 0 ? t : now) + interval;
      long ahead = next - now;
      if (ahead > capacity) {
        return ahead - capacity;
      }
      if (tat.compareAndSet(t, next)) {
        return TAKEN;
      }
    }
  }

  /** Gives back a token taken by {@link #tryTake} (when a later limit of the same request refused it). */
  void refund() {
    while (true) {
      long t = tat.get();
      if (t == RETIRED_MARK || tat.compareAndSet(t, t - interval)) {
        return;
      }
    }
  }

  /**
   * Retires the bucket if it is full. Only a full bucket may leave its table: a new one starts full, so
   * dropping a full bucket gives nobody a token it would not have had, while dropping a partly spent one
   * would hand its owner a fresh burst.
   */
  boolean retireIfFull(long now) {
    long t = tat.get();
    return t != RETIRED_MARK && t - now <= 0 && tat.compareAndSet(t, RETIRED_MARK);
  }
}
