package dev.sidecars.runtime.ratelimit;

import java.time.Duration;

/**
 * The answer of {@link RateLimits#check}: go on, or refuse with 429 and {@code Retry-After} (for gRPC:
 * status {@code RESOURCE_EXHAUSTED}, 8).
 */
public final class RateLimitDecision {
  static final RateLimitDecision ALLOWED = new RateLimitDecision(null, 0);

  private final String limit;
  private final long retryAfterNanos;

  private RateLimitDecision(String limit, long retryAfterNanos) {
    this.limit = limit;
    this.retryAfterNanos = retryAfterNanos;
  }

  static RateLimitDecision limited(String limit, long retryAfterNanos) {
    return new RateLimitDecision(limit, retryAfterNanos);
  }

  public boolean allowed() {
    return limit == null;
  }

  /** How long until the limit lets the next request through; zero when allowed. */
  public Duration retryAfter() {
    return Duration.ofNanos(retryAfterNanos);
  }

  /** {@link #retryAfter()} rounded up to whole seconds, at least 1: the {@code Retry-After} header's value. */
  public long retryAfterSeconds() {
    return Math.max(1, (retryAfterNanos + 999_999_999L) / 1_000_000_000L);
  }

  /** The limit that refused, as written in {@code RATE_LIMITS}; null when allowed. */
  public String limit() {
    return limit;
  }

  @Override
  public String toString() {
    return allowed() ? "allowed" : "limited by " + limit + ", retry after " + retryAfter();
  }
}
