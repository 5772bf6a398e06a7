package dev.sidecars.logforwarder;

import dev.sidecars.runtime.Sidecar;
import dev.sidecars.runtime.SidecarComponent;
import dev.sidecars.runtime.SidecarContext;
import dev.sidecars.runtime.SidecarFactory;
import dev.sidecars.runtime.config.Settings;

/** {@code java -jar log-forwarder.jar}: tails {@code LOG_PATHS} and ships every line over OTLP. */
public final class LogForwarderMain implements SidecarFactory<LogForwarderConfig> {
  /** The admin port when {@code ADMIN_PORT} is unset. */
  public static final int DEFAULT_ADMIN_PORT = 15092;

  public static void main(String[] args) {
    Sidecar.main(new LogForwarderMain());
  }

  @Override
  public String name() {
    return "log-forwarder";
  }

  @Override
  public int defaultAdminPort() {
    return DEFAULT_ADMIN_PORT;
  }

  @Override
  public LogForwarderConfig configure(Settings settings) {
    return LogForwarderConfig.from(settings);
  }

  @Override
  public SidecarComponent start(LogForwarderConfig config, SidecarContext context) {
    return LogForwarder.start(config, context);
  }
}
