package dev.sidecars.traceinjector.upstream;

import java.net.URI;

/**
 * The balancer's record of one proxied request: the endpoint of the current attempt and when it began,
 * how many attempts, and whether the retry budget stopped a retry. Used on the exchange's event loop only.
 */
public final class CallState {
  private Endpoint endpoint;
  private Endpoint held;
  private long attemptStart;
  private int attempts;
  private boolean budgetExhausted;

  CallState() {}

  /**
   * Counts one more attempt. A retry is counted when it is scheduled, before its backoff, so that while
   * it waits nothing of the exchange's state still points at an endpoint it no longer holds.
   */
  void countAttempt() {
    attempts++;
  }

  /** The attempt counted last starts on {@code endpoint} now: the balancer has taken one of its slots. */
  void startAttempt(Endpoint endpoint, long startNanos) {
    this.endpoint = endpoint;
    this.held = endpoint;
    this.attemptStart = startNanos;
  }

  Endpoint endpoint() {
    return endpoint;
  }

  long attemptStart() {
    return attemptStart;
  }

  /**
   * The endpoint whose slot this exchange holds, handed out once: the caller gives the slot back. {@code
   * null} when none is held (none taken yet, or already given back), so a slot is never given back twice,
   * whichever of a retry or the exchange's end comes first.
   */
  Endpoint release() {
    Endpoint e = held;
    held = null;
    return e;
  }

  void budgetExhausted() {
    budgetExhausted = true;
  }

  /** The URL of the endpoint tried last, if any. */
  public URI endpointUri() {
    return endpoint == null ? null : endpoint.uri;
  }

  /** Attempts made, retries included. */
  public int attempts() {
    return attempts;
  }

  /** Whether a retry was wanted but the budget had none left. */
  public boolean isBudgetExhausted() {
    return budgetExhausted;
  }
}
