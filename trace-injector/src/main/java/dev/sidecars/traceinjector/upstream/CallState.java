package dev.sidecars.traceinjector.upstream;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import java.net.URI;

/**
 * The balancer's record of one proxied request, kept on its exchange: the endpoint of the current
 * attempt and when it began, how many attempts, whether its connection was obtained, and whether the
 * retry budget stopped a retry. Written on the exchange's IO thread, read when it completes.
 */
public final class CallState {
  private static final AttachmentKey<CallState> KEY = AttachmentKey.create(CallState.class);

  private Endpoint endpoint;
  private long attemptStart;
  private int attempts;
  private boolean connected;
  private boolean budgetExhausted;

  /** The state of {@code exchange}, created on first use. */
  public static CallState of(HttpServerExchange exchange) {
    CallState state = exchange.getAttachment(KEY);
    if (state == null) {
      state = new CallState();
      exchange.putAttachment(KEY, state);
    }
    return state;
  }

  synchronized void attempt(Endpoint endpoint, long startNanos) {
    this.endpoint = endpoint;
    this.attemptStart = startNanos;
    this.attempts++;
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

  synchronized boolean isConnected() {
    return connected;
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
