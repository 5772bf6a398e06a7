package dev.sidecars.traceinjector.upstream;

import java.time.Duration;
import java.util.Map;

/**
 * How every upstream is called: timeouts, retries and their budget, breaker and outlier ejection, pool
 * size. Built once from the environment.
 *
 * @param timeout whole-request timeout when {@code timeouts} names no other for the upstream
 * @param timeouts per-upstream timeouts by name
 * @param maxRetries retries per request at most (connection failures, and resets of idempotent requests)
 * @param retryBudgetRatio retries allowed per request over time, e.g. 0.2
 * @param retryBudgetReserve retries allowed before requests have paid into the budget
 * @param backoffBase first retry waits up to this (fully jittered, doubling)
 * @param backoffMax no retry waits longer
 * @param breakerFailures gateway failures in a row that open an upstream's breaker
 * @param breakerOpen how long it stays open before one probe
 * @param ejectAfter gateway failures in a row that eject an endpoint
 * @param ejectFor how long an ejected endpoint stays out
 * @param connectionsPerThread pooled keep-alive connections per endpoint and IO thread
 * @param maxDynamicUpstreams distinct DNS upstreams kept at once (least recently used go first)
 * @param maxConcurrentRequests requests in flight through the sidecar at once; 0: unlimited
 */
public record UpstreamPolicy(
    Duration timeout,
    Map<String, Duration> timeouts,
    int maxRetries,
    double retryBudgetRatio,
    int retryBudgetReserve,
    Duration backoffBase,
    Duration backoffMax,
    int breakerFailures,
    Duration breakerOpen,
    int ejectAfter,
    Duration ejectFor,
    int connectionsPerThread,
    int maxDynamicUpstreams,
    int maxConcurrentRequests) {
  public UpstreamPolicy {
    timeouts = Map.copyOf(timeouts);
  }

  public Duration timeoutFor(String upstream) {
    return timeouts.getOrDefault(upstream, timeout);
  }
}
