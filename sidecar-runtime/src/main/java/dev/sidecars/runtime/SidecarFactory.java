package dev.sidecars.runtime;

import dev.sidecars.runtime.config.Settings;

/**
 * How the runtime builds one kind of sidecar: first its configuration (read from the same {@link
 * Settings} as the shared variables, so every problem is reported at once), then the running component.
 *
 * @param <C> the sidecar's immutable configuration
 */
public interface SidecarFactory<C> {
  /** The sidecar's name, as in the start line and its telemetry's scope. */
  String name();

  /** The admin port when {@code ADMIN_PORT} is unset. */
  int defaultAdminPort();

  /** Reads the sidecar's own variables; problems go to {@code settings}, not exceptions. */
  C configure(Settings settings);

  SidecarComponent start(C config, SidecarContext context) throws Exception;
}
