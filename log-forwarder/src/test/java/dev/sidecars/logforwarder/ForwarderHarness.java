package dev.sidecars.logforwarder;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Shared test helpers: the environment pointing a forwarder at the stub, file writes, record fields. */
final class ForwarderHarness {
  static final String SERVICE = "app";

  private ForwarderHarness() {}

  /** Short intervals so tests finish quickly; every value is still a real, user-settable variable. */
  static Map<String, String> env(CollectorStubExtension collector, Path logs, Path state) {
    Map<String, String> env = new LinkedHashMap<>(collector.otelEnvironment());
    env.put("ADMIN_PORT", "0");
    env.put("BIND_ADDRESS", "127.0.0.1");
    env.put("OTEL_TRACES_EXPORTER", "none");
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_LOGS_EXPORTER", "none");
    env.put("OTEL_SERVICE_NAME", SERVICE);
    env.put("LOG_PATHS", logs + "/*.log");
    env.put("LOG_STATE_DIR", state.toString());
    env.put("LOG_POLL_INTERVAL", "20ms");
    env.put("LOG_RESCAN_INTERVAL", "100ms");
    env.put("LOG_FLUSH_AFTER", "300ms");
    env.put("LOG_ROTATE_WAIT", "1s");
    env.put("LOG_BATCH_DELAY", "50ms");
    env.put("LOG_RETRY_INITIAL", "100ms");
    env.put("LOG_RETRY_MAX", "1s");
    env.put("SHUTDOWN_GRACE", "10s");
    return env;
  }

  static void append(Path file, String text) {
    append(file, text.getBytes(StandardCharsets.UTF_8));
  }

  static void append(Path file, byte[] bytes) {
    try {
      Files.write(file, bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The sum of a metric's rows on a child forwarder's {@code /metrics}. */
  static double metric(dev.sidecars.testing.SidecarProcess forwarder, String name) {
    return forwarder.admin("/metrics").body().lines()
        .filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  static List<String> bodies(CollectorStubExtension collector) {
    return collector.logs(SERVICE).stream().map(r -> r.item().getBody().getStringValue()).toList();
  }

  static Optional<String> attribute(Received<LogRecord> record, String key) {
    return record.item().getAttributesList().stream()
        .filter(kv -> kv.getKey().equals(key))
        .map(ForwarderHarness::asText)
        .findFirst();
  }

  private static String asText(KeyValue kv) {
    var v = kv.getValue();
    return switch (v.getValueCase()) {
      case STRING_VALUE -> v.getStringValue();
      case BOOL_VALUE -> String.valueOf(v.getBoolValue());
      case INT_VALUE -> String.valueOf(v.getIntValue());
      case DOUBLE_VALUE -> String.valueOf(v.getDoubleValue());
      default -> v.toString();
    };
  }
}
