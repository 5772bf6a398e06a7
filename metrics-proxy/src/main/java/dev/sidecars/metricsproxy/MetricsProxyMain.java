package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.Sidecar;
import dev.sidecars.runtime.SidecarComponent;
import dev.sidecars.runtime.SidecarContext;
import dev.sidecars.runtime.SidecarFactory;
import dev.sidecars.runtime.config.Settings;

/**
 * {@code java -jar metrics-proxy.jar}: the ingress proxy in front of the app, with RED metrics, server
 * spans and a clean drain on SIGTERM.
 */
public final class MetricsProxyMain implements SidecarFactory<MetricsProxyConfig> {
  /** The admin port when {@code ADMIN_PORT} is unset. */
  public static final int DEFAULT_ADMIN_PORT = 15090;

  public static void main(String[] args) {
    Sidecar.main(new MetricsProxyMain());
  }

  @Override
  public String name() {
    return "metrics-proxy";
  }

  @Override
  public int defaultAdminPort() {
    return DEFAULT_ADMIN_PORT;
  }

  @Override
  public MetricsProxyConfig configure(Settings settings) {
    return MetricsProxyConfig.from(settings);
  }

  @Override
  public SidecarComponent start(MetricsProxyConfig config, SidecarContext context) {
    return MetricsProxy.start(config, context, System.out);
  }
}
