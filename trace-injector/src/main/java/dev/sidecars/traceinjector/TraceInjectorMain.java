package dev.sidecars.traceinjector;

import dev.sidecars.runtime.Sidecar;

/** {@code java -jar trace-injector.jar}: the egress proxy on {@code PROXY_PORT}, admin on {@code ADMIN_PORT}. */
public final class TraceInjectorMain {
  /** The admin port when {@code ADMIN_PORT} is unset. */
  public static final int DEFAULT_ADMIN_PORT = TraceInjector.DEFAULT_ADMIN_PORT;

  private TraceInjectorMain() {}

  public static void main(String[] args) {
    Sidecar.main(new TraceInjector());
  }
}
