package dev.sidecars.runtime.telemetry;

import dev.sidecars.runtime.config.ConfigException;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OpenTelemetry SDK of one sidecar, configured by the SDK's own autoconfigure module from the
 * standard {@code OTEL_*} variables, plus three conveniences: {@code SERVICE_NAME} as a short form of
 * {@code OTEL_SERVICE_NAME}, the Kubernetes downward-API variables as resource attributes, and the
 * sidecar's own name and version on everything it emits.
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
  private static final Map<String, String> KUBERNETES =
      Map.of(
          "POD_NAME", "k8s.pod.name",
          "POD_NAMESPACE", "k8s.namespace.name",
          "NODE_NAME", "k8s.node.name");

  private final OpenTelemetrySdk sdk;
  private final String sidecarName;
  private final String sidecarVersion;

  private SidecarTelemetry(OpenTelemetrySdk sdk, String sidecarName, String sidecarVersion) {
    this.sdk = sdk;
    this.sidecarName = sidecarName;
    this.sidecarVersion = sidecarVersion;
  }

  /**
   * Builds the SDK from {@code env}. Bad {@code OTEL_*} values surface as a {@link ConfigException}
   * naming the variable, like every other configuration problem.
   */
  public static SidecarTelemetry create(
      String sidecarName, String sidecarVersion, Map<String, String> env) {
    Map<String, String> properties = sdkProperties(env);
    // The SDK reads this one switch only from system properties; a user's own -D setting wins.
    if (System.getProperty(HTTP_SENDER_PROPERTY) == null) {
      System.setProperty(HTTP_SENDER_PROPERTY, JDK_HTTP_SENDER);
    }
    Attributes extra = extraResourceAttributes(sidecarName, sidecarVersion, env);
    try {
      OpenTelemetrySdk sdk =
          AutoConfiguredOpenTelemetrySdk.builder()
              .disableShutdownHook() // our lifecycle flushes telemetry last, after the drain
              .addPropertiesCustomizer(config -> properties)
              .addResourceCustomizer(
                  (resource, config) ->
                      Resource.create(kubernetes(env)).merge(resource).merge(Resource.create(extra)))
              .build()
              .getOpenTelemetrySdk();
      return new SidecarTelemetry(sdk, sidecarName, sidecarVersion);
    } catch (ConfigurationException e) {
      throw new ConfigException(List.of(toEnvironmentNames(e.getMessage())));
    }
  }

  /** {@code OTEL_FOO_BAR} becomes {@code otel.foo.bar}, as the SDK reads it. */
  static Map<String, String> sdkProperties(Map<String, String> env) {
    Map<String, String> properties = new HashMap<>();
    env.forEach(
        (name, value) -> {
          if (name.startsWith("OTEL_") && value != null && !value.isBlank()) {
            properties.put(name.toLowerCase(Locale.ROOT).replace('_', '.'), value.trim());
          }
        });
    String shortName = env.get("SERVICE_NAME");
    if (shortName != null && !shortName.isBlank()) {
      properties.putIfAbsent("otel.service.name", shortName.trim());
    }
    return properties;
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

  public TextMapPropagator propagator() {
    return sdk.getPropagators().getTextMapPropagator();
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
