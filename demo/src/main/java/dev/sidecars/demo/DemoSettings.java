package dev.sidecars.demo;

import dev.sidecars.runtime.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The demo's settings, read once from the environment and validated together.
 *
 * @param portBase first port of the block of 100 the demo uses ({@code DEMO_PORT_BASE}, default 17000); 0
 *     gives every process a free port instead
 * @param dir where output, app log files and the forwarders' positions go ({@code DEMO_DIR})
 * @param rate payments a second from the load generator ({@code DEMO_RATE}, default 2; 0: no generator)
 * @param home the checkout whose {@code <module>/target/<module>.jar} files are run ({@code SUITE_HOME})
 * @param java the {@code java} command, with the options each child gets ({@code DEMO_JAVA_OPTIONS})
 * @param otlpEndpoint where the sidecars send OTLP/HTTP instead of a collector-stub of the demo's own
 *     ({@code DEMO_OTLP_ENDPOINT}, e.g. an OpenTelemetry Collector or Jaeger); empty: start the stub
 * @param sidecarEnv extra variables for every sidecar, on top of the demo's own choices
 */
public record DemoSettings(int portBase, Path dir, int rate, Path home, List<String> java,
    Optional<String> otlpEndpoint, Map<String, String> sidecarEnv) {

  static final String DEFAULT_JAVA_OPTIONS =
      "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -Xmx128m -XX:-UsePerfData";

  public DemoSettings {
    java = List.copyOf(java);
    Objects.requireNonNull(otlpEndpoint, "otlpEndpoint");
    sidecarEnv = Map.copyOf(sidecarEnv);
  }

  /**
   * Reads the variables above, and takes the {@code OTEL_*} ones of {@code passThrough} (the launcher's
   * environment) for the sidecars, except the endpoints and service names the demo sets itself; throws
   * {@link dev.sidecars.runtime.config.ConfigException} naming each bad variable.
   */
  public static DemoSettings from(Settings settings, Path defaultHome, Map<String, String> passThrough) {
    int base = settings.integer("DEMO_PORT_BASE", 17000, 0, 65435);
    if (base > 0 && base < 1024) {
      settings.problem("DEMO_PORT_BASE", Integer.toString(base), "0 (free ports) or a port from 1024 to 65435");
    }
    Path dir = Path.of(settings.string("DEMO_DIR", "demo-run")).toAbsolutePath();
    int rate = settings.integer("DEMO_RATE", 2, 0, 1000);
    Path home = Path.of(settings.string("SUITE_HOME", defaultHome.toString())).toAbsolutePath();
    if (!Files.isDirectory(home)) {
      settings.problem("SUITE_HOME", home.toString(), "the directory of the checkout, with the built jars");
    }
    Optional<String> otlp = settings.optional("DEMO_OTLP_ENDPOINT");
    otlp.ifPresent(url -> {
      if (!url.matches("https?://[^/\\s]+/?")) {
        settings.problem("DEMO_OTLP_ENDPOINT", url, "an OTLP/HTTP base URL such as http://localhost:4318");
      }
    });
    List<String> java = new ArrayList<>();
    java.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String option : settings.string("DEMO_JAVA_OPTIONS", DEFAULT_JAVA_OPTIONS).trim().split("\\s+")) {
      if (!option.isEmpty()) {
        java.add(option);
      }
    }
    // The standard SDK variables set for the launcher reach every sidecar (e.g. OTEL_EXPORTER_OTLP_HEADERS
    // for a Collector that wants a token, OTEL_METRICS_EXPORTER=none for a traces-only backend), but not an
    // endpoint left in the user's shell: where the demo sends is DEMO_OTLP_ENDPOINT's to say.
    Map<String, String> passed = new LinkedHashMap<>();
    passThrough.forEach((name, value) -> {
      if (name.startsWith("OTEL_") && !name.endsWith("_ENDPOINT") && !name.equals("OTEL_SERVICE_NAME")) {
        passed.put(name, value);
      }
    });
    settings.validate();
    return new DemoSettings(base, dir, rate, home, java, otlp.map(u -> u.replaceAll("/$", "")), passed);
  }

  /** The same settings with more sidecar variables, e.g. a short metric interval in tests. */
  public DemoSettings withSidecarEnv(Map<String, String> more) {
    Map<String, String> merged = new LinkedHashMap<>(sidecarEnv);
    merged.putAll(more);
    return new DemoSettings(portBase, dir, rate, home, java, otlpEndpoint, merged);
  }

  /** {@code base + offset}, or 0 (a free port) when the base is 0. */
  int port(int offset) {
    return portBase == 0 ? 0 : portBase + offset;
  }

  Path jar(String module) {
    return home.resolve(module).resolve("target").resolve(module + ".jar");
  }
}
