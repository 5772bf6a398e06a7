package dev.sidecars.runtime.telemetry;

import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.propagation.Propagation;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OpenTelemetry SDK of one sidecar, configured by the SDK's own autoconfigure module from the
 * standard {@code OTEL_*} variables, plus three conveniences: {@code SERVICE_NAME} as a short form of
 * {@code OTEL_SERVICE_NAME}, the Kubernetes downward-API variables as resource attributes, and the
 * sidecar's own name and version on everything it emits. {@code OTEL_PROPAGATORS} is the one exception:
 * the sidecar's own {@link Propagation} reads it, and the SDK is told {@code none}, so it neither reads
 * the variable a second time nor builds propagators nobody uses.
 */
public final class SidecarTelemetry implements AutoCloseable {
  private static final Pattern PROPERTY = Pattern.compile("otel(?:\\.[a-z0-9_-]+)+");
  /**
   * The SDK's switch between HTTP senders. Both are on the classpath (OkHttp only for OTLP/gRPC), and
   * without a choice the SDK takes whichever it finds first and logs a warning; the JDK's own client
   * keeps the jars small and needs no extra threads.
   */
  static final String HTTP_SENDER_PROPERTY = "io.opentelemetry.sdk.common.export.HttpSenderProvider";
  static final String JDK_HTTP_SENDER = "io.opentelemetry.exporter.sender.jdk.internal.JdkHttpSenderProvider";
  /** Every variable with this prefix goes to the SDK's autoconfigure module, which gives it its meaning. */
  public static final String SDK_VARIABLE_PREFIX = "OTEL_";
  /** The short form of {@code OTEL_SERVICE_NAME}, which wins when both are set. */
  static final String SERVICE_NAME = "SERVICE_NAME";
  private static final Map<String, String> KUBERNETES =
      Map.of(
          "POD_NAME", "k8s.pod.name",
          "POD_NAMESPACE", "k8s.namespace.name",
          "NODE_NAME", "k8s.node.name");

  private final OpenTelemetrySdk sdk;
  private final Resource resource;
  private final ConfigProperties config;
  private final OtlpDestinations destinations;
  private final String sidecarName;
  private final String sidecarVersion;
  private final Propagation propagation;

  private SidecarTelemetry(OpenTelemetrySdk sdk, Resource resource, ConfigProperties config,
      OtlpDestinations destinations, String sidecarName, String sidecarVersion, Propagation propagation) {
    this.sdk = sdk;
    this.resource = resource;
    this.config = config;
    this.destinations = destinations;
    this.sidecarName = sidecarName;
    this.sidecarVersion = sidecarVersion;
    this.propagation = propagation;
  }

  /**
   * Builds the SDK from {@code env}. Bad {@code OTEL_*} values surface as a {@link ConfigException}
   * naming the variable, like every other configuration problem.
   */
  public static SidecarTelemetry create(
      String sidecarName, String sidecarVersion, Map<String, String> env) {
    Settings settings = Settings.of(env);
    List<String> propagators = Propagation.names(settings);
    settings.validate();
    return create(sidecarName, sidecarVersion, env, propagators);
  }

  /**
   * As {@link #create(String, String, Map)}, with {@code OTEL_PROPAGATORS} already read (by {@link
   * Propagation#names}, with the rest of the sidecar's variables).
   */
  public static SidecarTelemetry create(
      String sidecarName, String sidecarVersion, Map<String, String> env, List<String> propagators) {
    Map<String, String> properties = sdkProperties(env);
    // The SDK reads this one switch only from system properties; a user's own -D setting wins.
    if (System.getProperty(HTTP_SENDER_PROPERTY) == null) {
      System.setProperty(HTTP_SENDER_PROPERTY, JDK_HTTP_SENDER);
    }
    Attributes extra = extraResourceAttributes(sidecarName, sidecarVersion, env);
    // The SDK keeps its final resource and configuration to itself; the customizer sees both, so
    // components that export on their own (the log-forwarder) describe themselves the same way.
    AtomicReference<Resource> finalResource = new AtomicReference<>();
    AtomicReference<ConfigProperties> finalConfig = new AtomicReference<>();
    try {
      OpenTelemetrySdk sdk =
          AutoConfiguredOpenTelemetrySdk.builder()
              .disableShutdownHook() // our lifecycle flushes telemetry last, after the drain
              .addPropertiesCustomizer(config -> properties)
              .addResourceCustomizer(
                  (resource, config) -> {
                    Resource merged = Resource.create(kubernetes(env)).merge(resource).merge(Resource.create(extra));
                    finalResource.set(merged);
                    finalConfig.set(config);
                    return merged;
                  })
              // Export failures reported once per run of failures, naming the endpoint (see ExportFailureLog).
              .addSpanExporterCustomizer((exporter, config) -> isOtlp(exporter)
                  ? ExportFailureLog.spans(exporter, OtlpDestinations.from(config).of("traces").endpoint())
                  : exporter)
              .addMetricExporterCustomizer((exporter, config) -> isOtlp(exporter)
                  ? ExportFailureLog.metrics(exporter, OtlpDestinations.from(config).of("metrics").endpoint())
                  : exporter)
              .addLogRecordExporterCustomizer((exporter, config) -> isOtlp(exporter)
                  ? ExportFailureLog.logs(exporter, OtlpDestinations.from(config).of("logs").endpoint())
                  : exporter)
              .build()
              .getOpenTelemetrySdk();
      return new SidecarTelemetry(sdk, finalResource.get(), finalConfig.get(), OtlpDestinations.from(finalConfig.get()),
          sidecarName, sidecarVersion, Propagation.of(propagators));
    } catch (ConfigurationException e) {
      throw new ConfigException(List.of(toEnvironmentNames(e.getMessage())));
    }
  }

  /** The SDK's OTLP exporters, not a console or other exporter a user may have chosen. */
  private static boolean isOtlp(Object exporter) {
    return exporter.getClass().getName().startsWith("io.opentelemetry.exporter.otlp.");
  }

  /** {@code OTEL_FOO_BAR} becomes {@code otel.foo.bar}, as the SDK reads it. */
  static Map<String, String> sdkProperties(Map<String, String> env) {
    Map<String, String> properties = new HashMap<>();
    env.forEach(
        (name, value) -> {
          if (name.startsWith(SDK_VARIABLE_PREFIX) && value != null && !value.isBlank()) {
            properties.put(name.toLowerCase(Locale.ROOT).replace('_', '.'), value.trim());
          }
        });
    // The contract's default (and the OTLP specification's) is http/protobuf on :4318; the Java SDK's
    // own default is still grpc, which would speak HTTP/2 to an OTLP/HTTP port.
    properties.putIfAbsent("otel.exporter.otlp.protocol", "http/protobuf");
    // The sidecar propagates with its own Propagation, built from OTEL_PROPAGATORS once.
    properties.put("otel.propagators", "none");
    String shortName = env.get(SERVICE_NAME);
    if (shortName != null && !shortName.isBlank()) {
      properties.putIfAbsent("otel.service.name", shortName.trim());
    }
    return properties;
  }

  /**
   * The variables read here besides the {@value #SDK_VARIABLE_PREFIX}* ones: {@code SERVICE_NAME} and the
   * Kubernetes downward-API values put on the resource.
   */
  public static Set<String> variables() {
    Set<String> names = new TreeSet<>(KUBERNETES.keySet());
    names.add(SERVICE_NAME);
    return Collections.unmodifiableSet(names);
  }

  private static Attributes kubernetes(Map<String, String> env) {
    AttributesBuilder attributes = Attributes.builder();
    KUBERNETES.forEach(
        (variable, attribute) -> {
          String value = env.get(variable);
          if (value != null && !value.isBlank()) {
            attributes.put(attribute, value.trim());
          }
        });
    return attributes.build();
  }

  private static Attributes extraResourceAttributes(
      String sidecarName, String sidecarVersion, Map<String, String> env) {
    return Attributes.builder()
        .put("telemetry.distro.name", "sidecar-suite")
        .put("telemetry.distro.version", sidecarVersion)
        .put("sidecar.name", sidecarName)
        .build();
  }

  /** Rewrites {@code otel.foo.bar} in an SDK message as {@code OTEL_FOO_BAR}, the name users set. */
  static String toEnvironmentNames(String message) {
    Matcher m = PROPERTY.matcher(message == null ? "invalid OpenTelemetry configuration" : message);
    StringBuilder out = new StringBuilder();
    String first = null;
    while (m.find()) {
      String env = m.group().toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
      if (first == null) {
        first = env;
      }
      m.appendReplacement(out, env);
    }
    m.appendTail(out);
    String line = out.toString().replace('\n', ' ');
    return first == null ? "OTEL_*: " + line : first + ": " + line;
  }

  /** The resource on everything this sidecar emits: the app's service, Kubernetes, the sidecar itself. */
  public Resource resource() {
    return resource;
  }

  /**
   * The SDK's configuration as autoconfigure read it (the {@code OTEL_*} variables as {@code otel.*}
   * properties), for exporters a component builds itself with the SDK's own providers.
   */
  public ConfigProperties config() {
    return config;
  }

  /** Where each signal goes over OTLP, as the SDK's exporters resolved it. */
  public OtlpDestinations destinations() {
    return destinations;
  }

  public OpenTelemetry openTelemetry() {
    return sdk;
  }

  public OpenTelemetrySdk sdk() {
    return sdk;
  }

  /** The tracer whose instrumentation scope is this sidecar. */
  public Tracer tracer() {
    return sdk.getTracerProvider().tracerBuilder(sidecarName).setInstrumentationVersion(sidecarVersion).build();
  }

  /** The trace-context formats of {@code OTEL_PROPAGATORS}, as every proxy hop reads and writes them. */
  public Propagation propagation() {
    return propagation;
  }

  /** {@link #propagation()} as one OpenTelemetry propagator, for carriers other than a request's headers. */
  public TextMapPropagator propagator() {
    return propagation.propagator();
  }

  /** Exports what is buffered and stops the SDK; waits at most {@code timeoutMillis}. */
  public CompletableResultCode shutdown(long timeoutMillis) {
    CompletableResultCode result = sdk.shutdown();
    return result.join(timeoutMillis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    shutdown(10_000);
  }
}
