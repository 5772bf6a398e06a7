package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.parse.ForwardedLogRecord;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import io.opentelemetry.sdk.resources.Resource;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * OTLP/gRPC through the SDK's own exporter (its gRPC sender, TLS and headers), for {@code
 * OTEL_EXPORTER_OTLP_PROTOCOL=grpc}: the request's records are handed to it as {@link LogRecordData}.
 * The SDK reports the status of a failed export, not {@code RetryInfo} or partial success.
 */
public final class SdkLogSender implements LogSender {
  private final LogRecordExporter exporter;
  private final Resource resource;
  private final InstrumentationScopeInfo scope;
  private final Duration timeout;
  private final String endpoint;

  public SdkLogSender(LogRecordExporter exporter, Resource resource, InstrumentationScopeInfo scope, Duration timeout,
      String endpoint) {
    this.exporter = exporter;
    this.endpoint = endpoint;
    this.resource = resource;
    this.scope = scope;
    this.timeout = timeout;
  }

  @Override
  public SendResult send(byte[] request, int length, int records) throws InterruptedException {
    List<LogRecordData> data = ExportRequests.records(request, length).stream().map(this::data).toList();
    CompletableResultCode result = exporter.export(data);
    result.join(timeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
    return new SendResult(ExportOutcome.of(result), 0, Optional.empty(), ExportOutcome.describe(result));
  }

  @Override
  public String endpoint() {
    return endpoint;
  }

  private LogRecordData data(LogRecord r) {
    SpanContext context = r.getTraceId().isEmpty()
        ? SpanContext.getInvalid()
        : SpanContext.create(HexFormat.of().formatHex(r.getTraceId().toByteArray()),
            HexFormat.of().formatHex(r.getSpanId().toByteArray()), TraceFlags.fromByte((byte) r.getFlags()),
            TraceState.getDefault());
    AttributesBuilder attributes = Attributes.builder();
    for (KeyValue kv : r.getAttributesList()) {
      AnyValue v = kv.getValue();
      switch (v.getValueCase()) {
        case BOOL_VALUE -> attributes.put(kv.getKey(), v.getBoolValue());
        case INT_VALUE -> attributes.put(kv.getKey(), v.getIntValue());
        case DOUBLE_VALUE -> attributes.put(kv.getKey(), v.getDoubleValue());
        default -> attributes.put(kv.getKey(), v.getStringValue());
      }
    }
    return new ForwardedLogRecord(resource, scope, r.getTimeUnixNano(), r.getObservedTimeUnixNano(), context,
        severity(r.getSeverityNumberValue()), r.getSeverityText().isEmpty() ? null : r.getSeverityText(),
        r.getBody().getStringValue(), attributes.build());
  }

  private static Severity severity(int number) {
    for (Severity s : Severity.values()) {
      if (s.getSeverityNumber() == number) {
        return s;
      }
    }
    return Severity.UNDEFINED_SEVERITY_NUMBER;
  }

  @Override
  public void shutdown() {
    exporter.shutdown().join(1, TimeUnit.SECONDS);
  }
}
