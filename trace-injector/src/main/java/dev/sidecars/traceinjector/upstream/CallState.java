package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.http.ResponseFlag;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import java.net.URI;

/**
 * The balancer's record of one proxied request, kept on its exchange: the endpoint of the current
 * attempt and when it began, how many attempts, whether its connection was obtained, how the last one
 * failed, and whether the retry budget stopped a retry. Written on the exchange's IO thread, read when it completes.
 */
public final class CallState {
  private static final AttachmentKey<CallState> KEY = AttachmentKey.create(CallState.class);

  private Endpoint endpoint;
  private long attemptStart;
  private int attempts;
  private boolean connected;
  private boolean budgetExhausted;
  private ResponseFlag lastFailure = ResponseFlag.UPSTREAM_REFUSED;

  /** The state of {@code exchange}, created on first use. */
  public static CallState of(HttpServerExchange exchange) {
    CallState state = exchange.getAttachment(KEY);
    if (state == null) {
      state = new CallState();
      exchange.putAttachment(KEY, state);
    }
    return state;
  }

  /**
   * Counts one more attempt. A retry is counted when it is scheduled, before its backoff, so that while
   * it waits nothing of the exchange's state still points at a connection it no longer holds.
   */
  synchronized void countAttempt() {
    attempts++;
  }

  /** The attempt counted last starts on {@code endpoint} now: the balancer has taken one of its slots. */
  synchronized void startAttempt(Endpoint endpoint, long startNanos) {
    this.endpoint = endpoint;
    this.attemptStart = startNanos;
    this.connected = false;
  }

  synchronized Endpoint endpoint() {
    return endpoint;
  }

  synchronized long attemptStart() {
    return attemptStart;
  }

  synchronized void connected() {
    connected = true;
  }

  /**
   * The endpoint whose connection this exchange holds, handed out once: the caller gives back its
   * outstanding slot. {@code null} when no connection is held (not obtained yet, failed, or already given
   * back), so a slot is never given back twice, whichever of a retry, a resend or the exchange's end
   * comes first.
   */
  synchronized Endpoint release() {
    if (!connected) {
      return null;
    }
    connected = false;
    return endpoint;
  }

  /** How the attempt made last failed: refused (no connection) or reset (connection lost before the answer). */
  synchronized void failed(ResponseFlag how) {
    lastFailure = how;
  }

  /** The failure of the last attempt, the reason to give when no retry follows it. */
  synchronized ResponseFlag lastFailure() {
    return lastFailure;
  }

  synchronized void budgetExhausted() {
    budgetExhausted = true;
  }

  /** The URL of the endpoint tried last, if any. */
  public synchronized URI endpointUri() {
    return endpoint == null ? null : endpoint.uri;
  }

  /** Attempts made, retries included. */
  public synchronized int attempts() {
    return attempts;
  }

  /** Whether a retry was wanted but the budget had none left. */
  public synchronized boolean isBudgetExhausted() {
    return budgetExhausted;
  }
}
