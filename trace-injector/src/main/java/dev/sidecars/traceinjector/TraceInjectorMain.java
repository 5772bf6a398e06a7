package dev.sidecars.traceinjector;

import dev.sidecars.runtime.AdminOnlySidecar;
import dev.sidecars.runtime.Sidecar;

/** {@code java -jar trace-injector.jar}: for now its admin port only; {@code /readyz} says what is missing. */
public final class TraceInjectorMain {
  /** The admin port when {@code ADMIN_PORT} is unset. */
  public static final int DEFAULT_ADMIN_PORT = 15091;

  private TraceInjectorMain() {}

  public static void main(String[] args) {
    Sidecar.main(new AdminOnlySidecar("trace-injector", DEFAULT_ADMIN_PORT, "the egress proxy is not built yet"));
  }
}
