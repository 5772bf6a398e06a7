package dev.sidecars.conformance;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Both proxies, configured alike: a metrics-proxy and a trace-injector, each in front of its own app. */
final class ProxyPair implements AutoCloseable {
  private final Hop metricsProxy;
  private final Hop traceInjector;

  private ProxyPair(Hop metricsProxy, Hop traceInjector) {
    this.metricsProxy = metricsProxy;
    this.traceInjector = traceInjector;
  }

  /**
   * @param propagators {@code OTEL_PROPAGATORS}
   * @param telemetry where spans go: {@link #NOT_RECORDING}, or a collector's {@code OTEL_*} variables
   */
  static ProxyPair start(String propagators, Map<String, String> telemetry) {
    Map<String, String> env = new LinkedHashMap<>(telemetry);
    env.put("OTEL_PROPAGATORS", propagators);
    Hop metricsProxy = Hop.start(Hop.Kind.METRICS_PROXY, env);
    try {
      return new ProxyPair(metricsProxy, Hop.start(Hop.Kind.TRACE_INJECTOR, env));
    } catch (RuntimeException e) {
      metricsProxy.close();
      throw e;
    }
  }

  /** No span processor: the SDK hands out a no-op tracer, and a hop still gives itself a context. */
  static final Map<String, String> NOT_RECORDING = Map.of("OTEL_TRACES_EXPORTER", "none");

  /** Spans exported over OTLP to {@code collectorEnvironment}, as in production. */
  static Map<String, String> recording(Map<String, String> collectorEnvironment) {
    Map<String, String> env = new LinkedHashMap<>(collectorEnvironment);
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    return env;
  }

  Hop metricsProxy() {
    return metricsProxy;
  }

  Hop traceInjector() {
    return traceInjector;
  }

  List<Hop> both() {
    return List.of(metricsProxy, traceInjector);
  }

  @Override
  public void close() {
    metricsProxy.close();
    traceInjector.close();
  }
}
