package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.AdminOnlySidecar;
import dev.sidecars.runtime.Sidecar;

/** {@code java -jar metrics-proxy.jar}: for now its admin port only; {@code /readyz} says what is missing. */
public final class MetricsProxyMain {
  /** The admin port when {@code ADMIN_PORT} is unset. */
  public static final int DEFAULT_ADMIN_PORT = 15090;

  private MetricsProxyMain() {}

  public static void main(String[] args) {
    Sidecar.main(new AdminOnlySidecar("metrics-proxy", DEFAULT_ADMIN_PORT, "the ingress proxy is not built yet"));
  }
}
