package dev.sidecars.demo;

import dev.sidecars.demo.launch.ProcessGroup;
import dev.sidecars.demo.launch.ProcessSpec;
import dev.sidecars.demo.launch.RunningProcess;
import dev.sidecars.demo.launch.Stage;
import dev.sidecars.demo.load.LoadGenerator;
import dev.sidecars.demo.services.FraudCheckRpc;
import dev.sidecars.demo.services.FraudCheckService;
import dev.sidecars.demo.services.PaymentService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The demo as processes: the collector-stub; fraud-check and payment, each with a metrics-proxy in front, a
 * trace-injector for its outbound calls and a log-forwarder on its log file; and the load generator. Payment
 * calls fraud-check over gRPC through its trace-injector on localhost, which routes the call (h2c) to
 * fraud-check's metrics-proxy: the first hops are HTTP/1.1, the last two gRPC.
 *
 * <pre>
 * load ─▶ payment-metrics-proxy ─▶ payment ═▶ payment-trace-injector ═▶ fraud-check-metrics-proxy ═▶ fraud-check
 * </pre>
 *
 * <p>Started in waves, each given the ports the earlier ones printed, so it runs on free ports as well as on
 * the documented block: see {@link #PORTS}.
 */
public final class DemoTopology {
  public static final String COLLECTOR = "collector-stub";
  public static final String PAYMENT = "payment";
  public static final String FRAUD_CHECK = "fraud-check";
  public static final String LOAD = "load-generator";

  /** Offsets from {@code DEMO_PORT_BASE}, as docs/demo.md lists them. */
  static final Map<String, Integer> PORTS = Map.ofEntries(
      Map.entry("payment-metrics-proxy/proxy", 1),
      Map.entry("payment-trace-injector/proxy", 2),
      Map.entry("fraud-check-metrics-proxy/proxy", 11),
      Map.entry("fraud-check-trace-injector/proxy", 12),
      Map.entry("collector-stub/otlp-grpc", 17),
      Map.entry("collector-stub/otlp-http", 18),
      Map.entry("payment/http", 80),
      Map.entry("fraud-check/grpc", 81),
      Map.entry("collector-stub/ui", 86),
      Map.entry("payment-metrics-proxy/admin", 90),
      Map.entry("payment-trace-injector/admin", 91),
      Map.entry("payment-log-forwarder/admin", 92),
      Map.entry("fraud-check-metrics-proxy/admin", 93),
      Map.entry("fraud-check-trace-injector/admin", 94),
      Map.entry("fraud-check-log-forwarder/admin", 95));

  /** Which variable sets each named port, to restart a process on the ports it had. */
  private static final Map<String, String> PORT_VARIABLES = Map.of(
      "otlp-http", "OTLP_HTTP_PORT", "otlp-grpc", "OTLP_GRPC_PORT", "ui", "UI_PORT",
      "proxy", "PROXY_PORT", "admin", "ADMIN_PORT", "http", "PORT", "grpc", "PORT");

  private static final Pattern LOAD_STARTED = Pattern.compile("load-generator demo sending .*");

  private final DemoSettings settings;

  public DemoTopology(DemoSettings settings) {
    this.settings = settings;
  }

  /** Where the running demo can be reached. */
  public record Running(ProcessGroup group, String paymentEntry, String fraudCheckEntry,
      Optional<String> collectorUi, String otlpEndpoint, Map<String, String> metricsEndpoints) {}

  /** The jars this topology runs that are not built yet; empty when it can start. */
  public List<Path> missingJars() {
    List<Path> missing = new ArrayList<>();
    List<String> modules = settings.otlpEndpoint().isPresent()
        ? List.of("metrics-proxy", "trace-injector", "log-forwarder")
        : List.of("collector-stub", "metrics-proxy", "trace-injector", "log-forwarder");
    for (String module : modules) {
      if (!Files.isRegularFile(settings.jar(module))) {
        missing.add(settings.jar(module));
      }
    }
    if (!Files.exists(demoClasspath())) {
      missing.add(demoClasspath());
    }
    return missing;
  }

  /**
   * The fixed ports this topology listens on, each with the variable that sets it and the process it is for;
   * empty on free ports ({@code DEMO_PORT_BASE=0}).
   */
  public List<PortBlock.Port> fixedPorts() {
    List<PortBlock.Port> ports = new ArrayList<>();
    if (settings.portBase() == 0) {
      return ports;
    }
    PORTS.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(entry -> {
      String process = entry.getKey().substring(0, entry.getKey().indexOf('/'));
      String portName = entry.getKey().substring(process.length() + 1);
      if (process.equals(COLLECTOR) && settings.otlpEndpoint().isPresent()) {
        return;
      }
      ports.add(new PortBlock.Port(PORT_VARIABLES.get(portName), settings.port(entry.getValue()), owner(process)));
    });
    return ports;
  }

  /** {@code payment's metrics-proxy}, {@code the payment service}, {@code the collector-stub}. */
  private static String owner(String process) {
    if (process.equals(COLLECTOR)) {
      return "the collector-stub";
    }
    for (String service : List.of(PAYMENT, FRAUD_CHECK)) {
      if (process.equals(service)) {
        return "the " + service + " service";
      }
      if (process.startsWith(service + "-")) {
        return service + "'s " + process.substring(service.length() + 1);
      }
    }
    return process;
  }

  /** Starts every process into {@code group}; on failure nothing is left running (see {@link ProcessGroup}). */
  public Running start(ProcessGroup group) {
    String otlp;
    String ui;
    if (settings.otlpEndpoint().isPresent()) {
      otlp = settings.otlpEndpoint().get();
      ui = null;
    } else {
      RunningProcess collector = group.start(ProcessSpec.of(COLLECTOR, Stage.COLLECTOR,
          jar("collector-stub"), Map.of(
              "OTLP_HTTP_PORT", port(COLLECTOR, "otlp-http"),
              "OTLP_GRPC_PORT", port(COLLECTOR, "otlp-grpc"),
              "UI_PORT", port(COLLECTOR, "ui"),
              "BIND_ADDRESS", "127.0.0.1"))).get(0);
      otlp = "http://127.0.0.1:" + collector.port("otlp-http");
      ui = "http://localhost:" + collector.port("ui") + "/";
    }

    RunningProcess fraudCheck = group.start(app(FRAUD_CHECK, "grpc", FraudCheckService.class, Map.of())).get(0);
    List<RunningProcess> fraudSidecars = group.start(
        grpcMetricsProxy(FRAUD_CHECK, otlp, fraudCheck.port("grpc")),
        traceInjector(FRAUD_CHECK, otlp, ""),
        logForwarder(FRAUD_CHECK, otlp));
    int fraudEntry = fraudSidecars.get(0).port("proxy");

    List<RunningProcess> paymentEgress = group.start(
        traceInjector(PAYMENT, otlp, "fraud-check=http://127.0.0.1:" + fraudEntry + ";protocol=h2c"),
        logForwarder(PAYMENT, otlp));
    RunningProcess payment = group.start(app(PAYMENT, "http", PaymentService.class, Map.of(
        "FRAUD_CHECK_URL", "http://localhost:" + paymentEgress.get(0).port("proxy")))).get(0);
    RunningProcess paymentEntry = group.start(metricsProxy(PAYMENT, otlp, payment.port("http"))).get(0);
    String entry = "http://localhost:" + paymentEntry.port("proxy");

    if (settings.rate() > 0) {
      group.start(ProcessSpec.of(LOAD, Stage.LOAD, javaMain(LoadGenerator.class),
          Map.of("TARGET_URL", entry, "RATE", Integer.toString(settings.rate()))).startLine(LOAD_STARTED));
    }

    Map<String, String> metrics = new LinkedHashMap<>();
    for (RunningProcess p : group.processes()) {
      if (p.ports().containsKey("admin")) {
        metrics.put(p.name(), "http://localhost:" + p.port("admin") + "/metrics");
      }
    }
    return new Running(group, entry, "http://localhost:" + fraudEntry, Optional.ofNullable(ui), otlp, metrics);
  }

  /**
   * Starts {@code name} again on the ports it had, after it was killed or stopped, e.g. fraud-check after a
   * crash or the collector after an outage.
   */
  public static RunningProcess restartOnSamePorts(ProcessGroup group, String name) {
    RunningProcess old = group.get(name);
    Map<String, String> pinned = new LinkedHashMap<>();
    old.ports().forEach((port, value) -> pinned.put(PORT_VARIABLES.get(port), Integer.toString(value)));
    return group.restart(old.spec().withEnv(pinned));
  }

  private ProcessSpec app(String service, String portName, Class<?> main, Map<String, String> env) {
    Map<String, String> all = new LinkedHashMap<>(env);
    all.put("PORT", port(service, portName));
    all.put("LOG_FILE", appLogDir(service).resolve(service + ".log").toString());
    return ProcessSpec.of(service, Stage.APP, javaMain(main), all);
  }

  /** In front of an HTTP service: its routes, and its health path followed. */
  private ProcessSpec metricsProxy(String service, String otlp, int appPort) {
    return metricsProxy(service, otlp, appPort, Map.of("READINESS_PATH", "/healthz", "ROUTES", "/payments"));
  }

  /**
   * In front of a gRPC service: calls go to it as h2c, its methods are the routes, and there is no HTTP
   * health path to probe (the service has printed its start line, so it listens).
   */
  private ProcessSpec grpcMetricsProxy(String service, String otlp, int appPort) {
    return metricsProxy(service, otlp, appPort,
        Map.of("TARGET_PROTOCOL", "h2c", "ROUTES", "/" + FraudCheckRpc.SERVICE + "/{method}"));
  }

  private ProcessSpec metricsProxy(String service, String otlp, int appPort, Map<String, String> settings) {
    String name = service + "-metrics-proxy";
    Map<String, String> env = sidecarEnv(service, otlp, name);
    env.put("PROXY_PORT", port(name, "proxy"));
    env.put("TARGET_URL", "http://127.0.0.1:" + appPort);
    env.putAll(settings);
    return ProcessSpec.of(name, Stage.PROXY, jar("metrics-proxy"), env).readyWhen("admin", "/readyz");
  }

  private ProcessSpec traceInjector(String service, String otlp, String upstreams) {
    String name = service + "-trace-injector";
    Map<String, String> env = sidecarEnv(service, otlp, name);
    env.put("PROXY_PORT", port(name, "proxy"));
    if (!upstreams.isEmpty()) {
      env.put("UPSTREAMS", upstreams);
    }
    return ProcessSpec.of(name, Stage.PROXY, jar("trace-injector"), env).readyWhen("admin", "/readyz");
  }

  private ProcessSpec logForwarder(String service, String otlp) {
    String name = service + "-log-forwarder";
    Map<String, String> env = sidecarEnv(service, otlp, name);
    env.put("LOG_PATHS", appLogDir(service).resolve("*.log").toString());
    env.put("LOG_STATE_DIR", settings.dir().resolve("state").resolve(name).toString());
    // A demo wants its logs back soon after the collector returns; production keeps the 30 s default.
    env.put("LOG_RETRY_MAX", "5s");
    return ProcessSpec.of(name, Stage.FORWARDER, jar("log-forwarder"), env).readyWhen("admin", "/readyz");
  }

  private Map<String, String> sidecarEnv(String service, String otlp, String name) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SERVICE_NAME", service);
    env.put("OTEL_EXPORTER_OTLP_ENDPOINT", otlp);
    env.put("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=demo");
    env.put("OTEL_METRIC_EXPORT_INTERVAL", "10000");
    env.put("OTEL_BSP_SCHEDULE_DELAY", "1000");
    env.put("BIND_ADDRESS", "127.0.0.1");
    env.put("ADMIN_PORT", port(name, "admin"));
    env.put("SHUTDOWN_GRACE", "10s");
    env.put("DRAIN_DELAY", "1s");
    env.putAll(settings.sidecarEnv());
    return env;
  }

  private Path appLogDir(String service) {
    return settings.dir().resolve("logs").resolve(service);
  }

  private String port(String process, String portName) {
    Integer offset = PORTS.get(process + "/" + portName);
    if (offset == null) {
      throw new IllegalArgumentException("no port offset for " + process + "/" + portName);
    }
    return Integer.toString(settings.port(offset));
  }

  private List<String> jar(String module) {
    List<String> command = new ArrayList<>(settings.java());
    command.add("-jar");
    command.add(settings.jar(module).toString());
    return command;
  }

  private List<String> javaMain(Class<?> main) {
    List<String> command = new ArrayList<>(settings.java());
    command.add("-cp");
    // The launcher's own class path: the demo jar when run as one, the build's classes in tests.
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    return command;
  }

  /** The demo's own classes: the jar it runs from, or the build's classes directory in tests. */
  private static Path demoClasspath() {
    try {
      return Path.of(DemoTopology.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
