package dev.sidecars.logforwarder.ship;

import dev.sidecars.runtime.telemetry.OtlpDestinations;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.exporter.otlp.internal.OtlpLogRecordExporterProvider;
import io.opentelemetry.exporter.otlp.logs.OtlpGrpcLogRecordExporter;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import java.time.Duration;

/**
 * Builds the OTLP log sender, and for gRPC the SDK's OTLP log exporter, from the SDK's own configuration, through the SDK's own provider (so
 * endpoint, protocol, headers, TLS, compression and timeout mean exactly what they mean everywhere),
 * with the exporter's built-in retry switched off: the shipper retries itself, forever, and must see
 * each failure's status to do so.
 */
public final class OtlpLogExporters {
  private OtlpLogExporters() {}

  /**
   * What ships the batches: for OTLP/HTTP protobuf (the default) the forwarder's own sender, which sees
   * the answer's {@code Retry-After} and partial success; for gRPC the SDK's exporter. {@code
   * exportsInFlight}: how many threads send at once.
   */
  public static LogSender sender(ConfigProperties config, Resource resource, InstrumentationScopeInfo scope,
      String userAgent, int exportsInFlight) {
    if (OtlpHttpLogSender.isHttpProtobuf(config)) {
      return OtlpHttpLogSender.create(config, userAgent, exportsInFlight);
    }
    return new SdkLogSender(create(config), resource, scope, timeout(config),
        OtlpDestinations.from(config).of("logs").endpoint());
  }

  /** The exporter, without SDK retries; throws the SDK's ConfigurationException for bad values. */
  public static LogRecordExporter create(ConfigProperties config) {
    LogRecordExporter exporter = new OtlpLogRecordExporterProvider().createExporter(config);
    if (exporter instanceof OtlpHttpLogRecordExporter http) {
      LogRecordExporter noRetry = http.toBuilder().setRetryPolicy(null).build();
      http.shutdown();
      return noRetry;
    }
    if (exporter instanceof OtlpGrpcLogRecordExporter grpc) {
      LogRecordExporter noRetry = grpc.toBuilder().setRetryPolicy(null).build();
      grpc.shutdown();
      return noRetry;
    }
    return exporter;
  }

  /** The per-export timeout the exporter was given ({@code OTEL_EXPORTER_OTLP_(LOGS_)TIMEOUT}, 10 s by default). */
  public static Duration timeout(ConfigProperties config) {
    Duration logs = config.getDuration("otel.exporter.otlp.logs.timeout");
    if (logs != null) {
      return logs;
    }
    return config.getDuration("otel.exporter.otlp.timeout", Duration.ofSeconds(10));
  }
}
