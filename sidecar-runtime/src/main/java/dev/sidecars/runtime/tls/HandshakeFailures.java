package dev.sidecars.runtime.tls;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Counts failed TLS handshakes as {@code tls_handshake_failures_total{reason}} and logs them at WARN at most
 * once per reason per minute, with how many more of that reason were not logged: a scanner or a
 * misconfigured client must not flood the sidecar's log. One per process, shared by every listener and
 * client of it.
 */
public final class HandshakeFailures {
  private static final Logger log = Logger.getLogger(HandshakeFailures.class.getName());
  static final Duration LOG_EVERY = Duration.ofMinutes(1);

  private final Map<HandshakeFailureReason, Counter> counters = new EnumMap<>(HandshakeFailureReason.class);
  private final Map<HandshakeFailureReason, AtomicLong> lastLogged = new EnumMap<>(HandshakeFailureReason.class);
  private final Map<HandshakeFailureReason, AtomicLong> unlogged = new EnumMap<>(HandshakeFailureReason.class);
  private final LongSupplier nanoTime;

  /**
   * Registers one counter per reason now, so every reason shows (at 0) before its first failure.
   *
   * @param nanoTime the clock of the log throttle, {@code System::nanoTime} in production
   */
  public HandshakeFailures(MeterRegistry meters, LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
    for (HandshakeFailureReason reason : HandshakeFailureReason.values()) {
      counters.put(reason, Counter.builder("tls.handshake.failures")
          .description("TLS handshakes that failed, by reason")
          .tag("reason", reason.label())
          .register(meters));
      lastLogged.put(reason, new AtomicLong(Long.MIN_VALUE));
      unlogged.put(reason, new AtomicLong());
    }
  }

  /** Classifies, counts and (throttled) logs a failed handshake; returns the reason. */
  public HandshakeFailureReason record(Throwable cause, boolean clientSide, SocketAddress peer) {
    HandshakeFailureReason reason = HandshakeFailureReason.classify(cause, clientSide);
    // Netty's message for a non-TLS record quotes the bytes in hex: a plaintext request's headers, perhaps
    // with credentials, have no place in the log.
    String detail = reason == HandshakeFailureReason.PLAINTEXT_ON_TLS_PORT
        || reason == HandshakeFailureReason.TLS_ON_PLAINTEXT_PORT ? "the bytes received are not a TLS record"
        : chain(cause);
    record(reason, detail, peer);
    return reason;
  }

  /** Counts and (throttled) logs a failure whose reason is known already. */
  public void record(HandshakeFailureReason reason, String detail, SocketAddress peer) {
    counters.get(reason).increment();
    long now = nanoTime.getAsLong();
    AtomicLong last = lastLogged.get(reason);
    long previous = last.get();
    if (previous != Long.MIN_VALUE && now - previous < LOG_EVERY.toNanos() || !last.compareAndSet(previous, now)) {
      unlogged.get(reason).incrementAndGet();
      return;
    }
    long more = unlogged.get(reason).getAndSet(0);
    if (log.isLoggable(Level.WARNING)) {
      log.warning("TLS handshake with " + peer + " failed (" + reason.label() + "): " + detail
          + (more > 0 ? " [and " + more + " more " + reason.label() + " failure(s) not logged in the last minute]"
              : ""));
    }
  }

  /** How many handshakes failed for {@code reason} so far. */
  public long count(HandshakeFailureReason reason) {
    return (long) counters.get(reason).count();
  }

  /** The exception and its causes, one line, at most 500 characters. */
  private static String chain(Throwable cause) {
    Throwable t = cause;
    StringBuilder out = new StringBuilder(String.valueOf(t));
    while (t.getCause() != null && t.getCause() != t && out.length() < 500) {
      t = t.getCause();
      out.append(" <- ").append(t);
    }
    return out.length() > 500 ? out.substring(0, 500) + "..." : out.toString();
  }
}
