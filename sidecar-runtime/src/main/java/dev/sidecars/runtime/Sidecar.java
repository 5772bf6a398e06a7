package dev.sidecars.runtime;

import dev.sidecars.runtime.admin.AdminServer;
import dev.sidecars.runtime.admin.Readiness;
import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.lifecycle.Lifecycle;
import dev.sidecars.runtime.telemetry.SidecarMeters;
import dev.sidecars.runtime.telemetry.SidecarTelemetry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Starts a sidecar the same way for all of them: validate every variable, build telemetry, start the
 * component and the admin server, print the start line (its ports and where its OTLP goes), and tie SIGTERM
 * to the drain-then-flush stop sequence. A taken port is reported by its variable ({@link
 * PortInUseException}).
 */
public final class Sidecar implements AutoCloseable {
  /** The exit status for bad configuration. */
  public static final int EXIT_BAD_CONFIG = 2;

  private final String name;
  private final String version;
  private final SidecarComponent component;
  private final AdminServer admin;
  private final Lifecycle lifecycle;
  private final PrometheusMeterRegistry registry;
  private final String otlp;

  private Sidecar(
      String name,
      String version,
      SidecarComponent component,
      AdminServer admin,
      Lifecycle lifecycle,
      PrometheusMeterRegistry registry,
      String otlp) {
    this.otlp = otlp;
    this.name = name;
    this.version = version;
    this.component = component;
    this.admin = admin;
    this.lifecycle = lifecycle;
    this.registry = registry;
  }

  /** The entry point of each sidecar's {@code main}: exits 2 on bad configuration, 0 after a stop. */
  public static <C> void main(SidecarFactory<C> factory) {
    Sidecar sidecar;
    try {
      sidecar = start(factory, System.getenv());
    } catch (ConfigException e) {
      e.problems().forEach(problem -> System.err.println(factory.name() + ": " + problem));
      System.exit(EXIT_BAD_CONFIG);
      return;
    } catch (PortInUseException e) {
      System.err.println(factory.name() + ": failed to start: " + e.getMessage());
      System.exit(1);
      return;
    } catch (Exception e) {
      System.err.println(factory.name() + ": failed to start: " + e);
      System.exit(1);
      return;
    }
    sidecar.lifecycle.installShutdownHook();
    System.out.println(sidecar.startLine());
    System.out.flush();
    sidecar.lifecycle.stopped().join();
  }

  /**
   * Starts the sidecar in this process; throws {@link ConfigException} listing every bad variable.
   * Tests use this directly, with a map for the environment.
   */
  public static <C> Sidecar start(SidecarFactory<C> factory, Map<String, String> env) throws Exception {
    warmUpTls();
    Settings settings = Settings.of(env);
    SidecarSettings shared = SidecarSettings.from(settings, factory.defaultAdminPort());
    C config = factory.configure(settings);
    settings.validate();
    ConsoleLogging.configure(shared.logLevel());
    String bind = shared.bindAddress();

    String version = versionOf(factory.getClass());
    SidecarTelemetry telemetry = SidecarTelemetry.create(factory.name(), version, env, shared.propagators());
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(SidecarMeters.PROMETHEUS_CONFIG);
    Lifecycle lifecycle = new Lifecycle(shared.shutdownGrace());
    String owner = owner(factory.name(), telemetry);
    SidecarComponent component;
    try {
      component =
          factory.start(config, new SidecarContext(factory.name(), version, telemetry, registry,
              SidecarMeters.create(registry, telemetry.openTelemetry()), lifecycle, bind));
    } catch (Exception e) {
      release(telemetry);
      throw portInUse(e, settings, owner);
    }
    Readiness componentReadiness = component.readiness();
    Readiness readiness =
        () -> lifecycle.isStopping() ? Optional.of("stopping") : componentReadiness.notReadyReason();
    AdminServer admin;
    try {
      admin = AdminServer.start(bind, shared.adminPort(), registry, readiness, () -> lifecycle.exit(0),
          factory.name() + " " + version);
    } catch (RuntimeException e) {
      // Nothing will stop the component started above, so release it here (a taken admin port, say).
      try {
        component.close();
      } catch (Exception closeFailure) {
        e.addSuppressed(closeFailure);
      }
      release(telemetry);
      if (PortInUseException.isBindFailure(e)) {
        throw new PortInUseException("ADMIN_PORT", shared.adminPort(), owner, e);
      }
      throw e;
    }

    lifecycle
        .onDrain(factory.name(), component::drain)
        .onFlush("telemetry", budget -> telemetry.shutdown(Math.max(1, budget.toMillis())))
        .onClose("admin", budget -> admin.close())
        .onClose(factory.name(), budget -> component.close());
    Set<String> sent = new LinkedHashSet<>(telemetry.destinations().exported());
    sent.addAll(component.otlpSignals());
    return new Sidecar(factory.name(), version, component, admin, lifecycle, registry,
        telemetry.destinations().describe(sent));
  }

  /** {@code checkout's metrics-proxy}, or {@code the metrics-proxy} when no service is named. */
  private static String owner(String sidecar, SidecarTelemetry telemetry) {
    String service = telemetry.resource().getAttribute(AttributeKey.stringKey("service.name"));
    return service == null || service.startsWith("unknown_service") ? "the " + sidecar : service + "'s " + sidecar;
  }

  /**
   * A component that failed to bind its port, as a {@link PortInUseException} naming the port's variable when
   * the component reads exactly one besides {@code ADMIN_PORT} (bound after it); else {@code failure}.
   */
  private static Exception portInUse(Exception failure, Settings settings, String owner) {
    Map<String, Integer> ports = new LinkedHashMap<>(settings.portsRead());
    ports.remove("ADMIN_PORT");
    if (PortInUseException.isBindFailure(failure) && ports.size() == 1) {
      Map.Entry<String, Integer> port = ports.entrySet().iterator().next();
      return new PortInUseException(port.getKey(), port.getValue(), owner, failure);
    }
    return failure;
  }

  /**
   * Shuts the telemetry of a failed start down in the background: flushing to a collector that is away can
   * take the SDK's exporters seconds, and the reason for the failure must be printed at once.
   */
  private static void release(SidecarTelemetry telemetry) {
    Thread release = new Thread(() -> telemetry.shutdown(1000), "telemetry-release");
    release.setDaemon(true);
    release.start();
  }

  /**
   * The OTLP exporter's JDK HTTP client sets up the default TLS context (security providers, the CA store)
   * even for an {@code http} endpoint, a good part of a start. Begun here on a thread of its own, it
   * overlaps with reading the configuration and building the rest of the SDK instead of adding to them.
   */
  private static void warmUpTls() {
    Thread warm = new Thread(() -> {
      try {
        javax.net.ssl.SSLContext.getDefault();
      } catch (Exception | Error e) {
        // The exporter will meet the same problem and report it; nothing to do here.
      }
    }, "tls-warm-up");
    warm.setDaemon(true);
    warm.start();
  }

  /** Every port, by name: the component's, then {@code admin}. */
  public Map<String, Integer> ports() {
    Map<String, Integer> ports = new LinkedHashMap<>(component.ports());
    ports.put("admin", admin.port());
    return ports;
  }

  /**
   * The first line a sidecar prints: {@code metrics-proxy 0.1.0 listening on proxy=15001 admin=15090, sending
   * OTLP to http://localhost:4318 (http/protobuf)}.
   */
  public String startLine() {
    return StartLine.format(name, version, ports(), otlp);
  }

  public Lifecycle lifecycle() {
    return lifecycle;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Runs the stop sequence and waits for it. */
  @Override
  public void close() {
    lifecycle.stop().join();
  }

  /** The version in the jar's manifest, or {@code dev} when running from classes. */
  public static String versionOf(Class<?> type) {
    String v = type.getPackage() == null ? null : type.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
