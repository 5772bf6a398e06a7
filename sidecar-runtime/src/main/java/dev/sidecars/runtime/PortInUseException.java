package dev.sidecars.runtime;

import java.net.BindException;

/**
 * A port the configuration names is taken by another process. The message says which port, set by which
 * variable, for which process, and what to do: {@code ADMIN_PORT 15090 of checkout's metrics-proxy is in use;
 * set ADMIN_PORT to a free port, or to 0 for any free one}.
 */
public final class PortInUseException extends Exception {
  private static final long serialVersionUID = 1L;

  public PortInUseException(String variable, int port, String owner, Throwable cause) {
    super(describe(variable, port, owner) + "; set " + variable + " to a free port, or to 0 for any free one",
        cause);
  }

  /** {@code ADMIN_PORT 17090 of payment's metrics-proxy is in use}: the same words wherever a port is taken. */
  public static String describe(String variable, int port, String owner) {
    return variable + " " + port + " of " + owner + " is in use";
  }

  /** Whether {@code failure} comes from binding a listener to an address that is taken. */
  static boolean isBindFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof BindException) {
        return true;
      }
    }
    return false;
  }
}
