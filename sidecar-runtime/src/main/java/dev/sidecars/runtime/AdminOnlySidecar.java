package dev.sidecars.runtime;

import dev.sidecars.runtime.admin.Readiness;
import dev.sidecars.runtime.config.Settings;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * A sidecar that so far has only its admin port: it starts, answers {@code /healthz} and {@code /metrics},
 * and says on {@code /readyz} why it is not ready. The sidecars whose own work has not landed yet run as
 * this, so images, probes and the lifecycle can be tried end to end.
 */
public final class AdminOnlySidecar implements SidecarFactory<Void> {
  private final String name;
  private final int defaultAdminPort;
  private final String notReadyReason;

  public AdminOnlySidecar(String name, int defaultAdminPort, String notReadyReason) {
    this.name = name;
    this.defaultAdminPort = defaultAdminPort;
    this.notReadyReason = notReadyReason;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int defaultAdminPort() {
    return defaultAdminPort;
  }

  @Override
  public Void configure(Settings settings) {
    return null;
  }

  @Override
  public SidecarComponent start(Void config, SidecarContext context) {
    return new SidecarComponent() {
      @Override
      public Map<String, Integer> ports() {
        return Map.of();
      }

      @Override
      public Readiness readiness() {
        return () -> Optional.of(notReadyReason);
      }

      @Override
      public void drain(Duration budget) {
        // nothing in flight
      }

      @Override
      public void close() {
        // nothing to release
      }
    };
  }
}
