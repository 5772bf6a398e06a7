package dev.sidecars.logforwarder;

import dev.sidecars.runtime.AdminOnlySidecar;
import dev.sidecars.runtime.Sidecar;

/** {@code java -jar log-forwarder.jar}: for now its admin port only; {@code /readyz} says what is missing. */
public final class LogForwarderMain {
  /** The admin port when {@code ADMIN_PORT} is unset. */
  public static final int DEFAULT_ADMIN_PORT = 15092;

  private LogForwarderMain() {}

  public static void main(String[] args) {
    Sidecar.main(new AdminOnlySidecar("log-forwarder", DEFAULT_ADMIN_PORT, "tailing is not built yet"));
  }
}
