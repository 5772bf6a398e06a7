package dev.sidecars.runtime.admin;

import java.util.Optional;

/** Says whether a component can do its job now; each component decides what that means. */
@FunctionalInterface
public interface Readiness {
  Readiness ALWAYS = () -> Optional.empty();

  /** Empty when ready, else a short reason shown by {@code /readyz}. */
  Optional<String> notReadyReason();
}
