package dev.sidecars.collector.faults;

import dev.sidecars.collector.Signal;
import java.util.Optional;
import java.util.Set;

/**
 * One scripted answer for the next {@code times} OTLP requests of a signal ({@code signal} empty means
 * all): either an error {@code status}, or, when {@code rejectPartially} is above zero, a partial success
 * that stores all but that many items.
 */
public record Fault(Optional<Signal> signal, int status, Optional<Integer> retryAfterSeconds, int times, int rejectPartially) {
  /** The error statuses a fault may answer with. */
  public static final Set<Integer> STATUSES = Set.of(429, 503, 400, 413, 500);

  public Fault {
    if (times < 1) {
      throw new IllegalArgumentException("times must be at least 1");
    }
    if (rejectPartially < 0) {
      throw new IllegalArgumentException("rejectPartially must not be negative");
    }
    if (rejectPartially == 0 && !STATUSES.contains(status)) {
      throw new IllegalArgumentException("status must be one of 429, 503, 400, 413, 500 (or set rejectPartially)");
    }
    if (retryAfterSeconds.isPresent() && retryAfterSeconds.get() < 0) {
      throw new IllegalArgumentException("retryAfterSeconds must not be negative");
    }
  }

  public static Fault status(Signal signal, int status, int times) {
    return new Fault(Optional.ofNullable(signal), status, Optional.empty(), times, 0);
  }

  public static Fault throttle(Signal signal, int status, int retryAfterSeconds, int times) {
    return new Fault(Optional.ofNullable(signal), status, Optional.of(retryAfterSeconds), times, 0);
  }

  public static Fault partial(Signal signal, int rejectItems, int times) {
    return new Fault(Optional.ofNullable(signal), 200, Optional.empty(), times, rejectItems);
  }

  public boolean isPartialSuccess() {
    return rejectPartially > 0;
  }

  public boolean appliesTo(Signal s) {
    return signal.isEmpty() || signal.get() == s;
  }

  public String signalName() {
    return signal.map(Signal::pathName).orElse("all");
  }
}
