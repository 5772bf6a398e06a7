package dev.sidecars.runtime.telemetry;

import io.opentelemetry.exporter.otlp.internal.OtlpConfigUtil;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Where a sidecar's OTLP goes: per signal, the endpoint and protocol the SDK's exporters use, resolved from the
 * {@code OTEL_*} variables by the SDK's own code ({@code OtlpConfigUtil}: the per-signal variables first, then
 * {@code OTEL_EXPORTER_OTLP_ENDPOINT} with {@code /v1/<signal>} appended for OTLP/HTTP), and whether the
 * signal is exported over OTLP at all ({@code OTEL_<SIGNAL>_EXPORTER}). For the start line and for export
 * errors, which name the endpoint.
 */
public final class OtlpDestinations {
  /** The signals, in the order they are listed. */
  public static final List<String> SIGNALS = List.of("traces", "metrics", "logs");

  /** One signal's destination. */
  public record Destination(String endpoint, String protocol) {}

  private final Map<String, Destination> bySignal;
  private final Set<String> exported;

  private OtlpDestinations(Map<String, Destination> bySignal, Set<String> exported) {
    this.bySignal = bySignal;
    this.exported = exported;
  }

  /** Reads {@code config} as the SDK does; throws the SDK's ConfigurationException for values it refuses. */
  public static OtlpDestinations from(ConfigProperties config) {
    Map<String, Destination> bySignal = new LinkedHashMap<>();
    Set<String> exported = new LinkedHashSet<>();
    for (String signal : SIGNALS) {
      String protocol = OtlpConfigUtil.getOtlpProtocol(signal, config);
      AtomicReference<String> endpoint = new AtomicReference<>(OtlpConfigUtil.PROTOCOL_GRPC.equals(protocol)
          ? "http://localhost:4317" // the SDK exporters' own defaults
          : "http://localhost:4318/v1/" + signal);
      OtlpConfigUtil.configureOtlpExporterBuilder(signal, config, loader -> {}, endpoint::set, (k, v) -> {},
          compression -> {}, timeout -> {}, certificates -> {}, (key, chain) -> {}, retry -> {}, memory -> {},
          version -> {});
      bySignal.put(signal, new Destination(endpoint.get(), protocol));
      if (config.getList("otel." + signal + ".exporter", List.of("otlp")).contains("otlp")) {
        exported.add(signal);
      }
    }
    return new OtlpDestinations(bySignal, exported);
  }

  /** Where {@code signal} ({@code traces}, {@code metrics}, {@code logs}) goes when sent over OTLP. */
  public Destination of(String signal) {
    Destination destination = bySignal.get(signal);
    if (destination == null) {
      throw new IllegalArgumentException("not a signal: " + signal);
    }
    return destination;
  }

  /** The signals the SDK exports over OTLP ({@code OTEL_<SIGNAL>_EXPORTER} includes {@code otlp}). */
  public Set<String> exported() {
    return exported;
  }

  /**
   * Where the given signals go, for people: {@code sending OTLP to http://localhost:4318 (http/protobuf)}
   * when they share one collector, else each signal's endpoint; {@code sending no OTLP} when none is sent.
   */
  public String describe(Set<String> signals) {
    List<String> sent = SIGNALS.stream().filter(signals::contains).toList();
    if (sent.isEmpty()) {
      return "sending no OTLP (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER are none)";
    }
    Set<String> protocols = new LinkedHashSet<>();
    Set<String> bases = new LinkedHashSet<>();
    for (String signal : sent) {
      Destination d = of(signal);
      protocols.add(d.protocol());
      String suffix = "/v1/" + signal;
      bases.add(!OtlpConfigUtil.PROTOCOL_GRPC.equals(d.protocol()) && d.endpoint().endsWith(suffix)
          ? d.endpoint().substring(0, d.endpoint().length() - suffix.length())
          : d.endpoint());
    }
    boolean oneProtocol = protocols.size() == 1;
    String tail = oneProtocol ? " (" + protocols.iterator().next() + ")" : "";
    if (bases.size() == 1 && oneProtocol) {
      String which = sent.size() == SIGNALS.size() ? "" : String.join(" and ", sent) + " ";
      return "sending OTLP " + which + "to " + bases.iterator().next() + tail;
    }
    List<String> parts = new ArrayList<>();
    for (String signal : sent) {
      Destination d = of(signal);
      parts.add(signal + " to " + d.endpoint() + (oneProtocol ? "" : " (" + d.protocol() + ")"));
    }
    return "sending OTLP " + String.join(", ", parts) + tail;
  }
}
