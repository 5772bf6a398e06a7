package dev.sidecars.logforwarder.ship;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Exponential back-off with jitter: attempt n waits between half and all of {@code initial * 2^n},
 * capped at {@code max}, so many forwarders that lost the same collector do not retry in step.
 */
public final class Backoff {
  private final Duration initial;
  private final Duration max;
  private final RandomGenerator random;

  public Backoff(Duration initial, Duration max, RandomGenerator random) {
    this.initial = initial;
    this.max = max;
    this.random = random;
  }

  /** The wait before retry number {@code attempt} (0 for the first retry). */
  public Duration delay(int attempt) {
    long cap = max.toMillis();
    long base = initial.toMillis() << Math.min(attempt, 30);
    long ceiling = Math.max(1, Math.min(cap, base < 0 ? cap : base));
    long half = ceiling / 2;
    return Duration.ofMillis(half + random.nextLong(ceiling - half + 1));
  }
}
