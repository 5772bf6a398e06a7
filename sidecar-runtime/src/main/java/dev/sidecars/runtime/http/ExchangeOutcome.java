package dev.sidecars.runtime.http;

import io.undertow.client.ClientConnection;
import io.undertow.client.ClientExchange;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import java.io.IOException;
import java.util.Optional;
import org.xnio.IoUtils;

/**
 * What the handlers of one proxied exchange learned about it, attached to the exchange so the outer
 * telemetry handler can report what inner handlers decided: the {@link ResponseFlag} when the proxy
 * answered by itself, when the upstream connection was obtained, and the route or upstream address label.
 *
 * <p>Each exchange is handled by one thread at a time, but the IO and worker threads may hand it over, so
 * fields are volatile.
 */
public final class ExchangeOutcome {
  private static final AttachmentKey<ExchangeOutcome> KEY = AttachmentKey.create(ExchangeOutcome.class);

  private final long startNanos;
  private volatile ResponseFlag flag;
  private volatile long upstreamStartNanos;
  private volatile String target;
  private volatile ClientExchange upstreamExchange;
  private volatile boolean upstreamProtocolError;

  private ExchangeOutcome(long startNanos) {
    this.startNanos = startNanos;
  }

  /** The outcome of {@code exchange}, created on first use with the current time as its start. */
  public static ExchangeOutcome of(HttpServerExchange exchange) {
    ExchangeOutcome outcome = exchange.getAttachment(KEY);
    if (outcome == null) {
      outcome = new ExchangeOutcome(System.nanoTime());
      exchange.putAttachment(KEY, outcome);
    }
    return outcome;
  }

  /** When the exchange began ({@link System#nanoTime()}). */
  public long startNanos() {
    return startNanos;
  }

  /**
   * Records why the proxy answered by itself; the first flag wins, as it is the cause. A proxy that
   * retries and knows better uses {@link #replaceFlag}.
   */
  public void flag(ResponseFlag value) {
    if (flag == null) {
      flag = value;
    }
  }

  /**
   * Records why the proxy answered by itself, replacing any earlier reason. For a proxy that retries:
   * the answer's cause is what happened to the last attempt (say a reset), not the first failure or
   * refusal recorded on the way (say a refused connect or a full pool that a retry got past). Call it
   * before the response starts, so the answer, the access log and the span all give this reason.
   */
  public void replaceFlag(ResponseFlag value) {
    flag = value;
  }

  public Optional<ResponseFlag> flag() {
    return Optional.ofNullable(flag);
  }

  /** Marks the moment a connection to the upstream was ready, the start of the upstream time. */
  public void upstreamStarted(long nanos) {
    if (upstreamStartNanos == 0) {
      upstreamStartNanos = nanos;
    }
  }

  /** Whether a connection to the upstream was obtained. */
  public boolean upstreamStarted() {
    return upstreamStartNanos != 0;
  }

  /** Nanoseconds from the upstream connection to {@code endNanos}, or -1 when there was none. */
  public long upstreamNanos(long endNanos) {
    return upstreamStartNanos == 0 ? -1 : endNanos - upstreamStartNanos;
  }

  /** Keeps the request sent upstream, to tell later whether the upstream answered. */
  void upstreamExchange(ClientExchange exchange) {
    upstreamExchange = exchange;
  }

  /** Closes the upstream connection of this exchange mid-request ({@link #abort}); nothing when there is none. */
  void abortUpstream() {
    ClientExchange sent = upstreamExchange;
    if (sent != null) {
      abort(sent.getConnection());
    }
  }

  /**
   * Closes a connection to the upstream at once, mid-request, so the upstream sees the request body end
   * early instead of complete. {@code ClientConnection.close()} would not do: it shuts writes down first,
   * which ends a chunked body with its last chunk. {@code performUpgrade()} is the public way to take the
   * raw socket from Undertow's HTTP client (it detaches the request encoding); closing that drops whatever
   * was not sent. The connection is closed, so the pool never reuses it.
   */
  static void abort(ClientConnection connection) {
    try {
      IoUtils.safeClose(connection.performUpgrade());
    } catch (IOException | RuntimeException e) {
      // Already closed, or not an HTTP/1.1 connection: close it the ordinary way.
      IoUtils.safeClose(connection);
    }
  }

  /**
   * The upstream's response head could not be framed and was discarded (its connection closed): the
   * proxy's own error answer that follows is then a protocol error, not a reset.
   */
  void upstreamProtocolError() {
    upstreamProtocolError = true;
    upstreamExchange = null;
  }

  boolean isUpstreamProtocolError() {
    return upstreamProtocolError;
  }

  /** Whether the upstream sent response headers (so the status is the upstream's, not the proxy's). */
  public boolean upstreamResponded() {
    ClientExchange sent = upstreamExchange;
    return sent != null && sent.getResponse() != null;
  }

  /**
   * Sets the upstream an egress proxy picked, for its {@code server.address} label (unset for an
   * ingress proxy, whose upstream is fixed).
   */
  public void target(String address) {
    target = address;
  }

  public Optional<String> target() {
    return Optional.ofNullable(target);
  }
}
