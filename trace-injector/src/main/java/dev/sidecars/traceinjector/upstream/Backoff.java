package dev.sidecars.traceinjector.upstream;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Fully jittered exponential backoff (as Envoy does it): before retry {@code n} (1-based) wait a uniform
 * random time in {@code [0, min(max, base * 2^(n-1))]}. The random source is passed in, so tests
 * choose the jitter instead of waiting for it.
 */
public record Backoff(Duration base, Duration max, DoubleSupplier jitter) {
  /** The wait before retry {@code retry} (1 for the first retry). */
  public Duration before(int retry) {
    long cap = base.toNanos() << Math.min(30, Math.max(0, retry - 1));
    long ceiling = Math.min(max.toNanos(), cap < 0 ? Long.MAX_VALUE : cap);
    return Duration.ofNanos((long) (ceiling * Math.min(1.0, Math.max(0.0, jitter.getAsDouble()))));
  }
}
