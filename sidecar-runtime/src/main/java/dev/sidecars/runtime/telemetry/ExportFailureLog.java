package dev.sidecars.runtime.telemetry;

import io.opentelemetry.exporter.internal.FailedExportException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.export.MemoryMode;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import io.opentelemetry.sdk.metrics.Aggregation;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.util.Collection;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;

/**
 * Reports an OTLP exporter's failures in words a user can act on: the first failed export of a run of
 * failures is logged once, naming the endpoint and why ({@code exporting spans to
 * http://collector:4318/v1/traces failed: cannot connect (java.net.ConnectException); ...}), and the first
 * success after it too. The SDK's own message names neither the endpoint nor, for a refused connection, the
 * cause, and repeats with every export. Wraps the SDK's exporters; exports themselves are unchanged.
 */
public final class ExportFailureLog {
  /** Shows as {@code otlp:} in a sidecar's log. */
  static final Logger LOG = Logger.getLogger("dev.sidecars.runtime.telemetry.otlp");

  private final String what;
  private final String endpoint;
  private final AtomicInteger failedInARow = new AtomicInteger();

  private ExportFailureLog(String what, String endpoint) {
    this.what = what;
    this.endpoint = endpoint;
  }

  /** The SDK's span exporter, reporting as {@code spans} to {@code endpoint}. */
  static SpanExporter spans(SpanExporter exporter, String endpoint) {
    return new Spans(exporter, new ExportFailureLog("spans", endpoint));
  }

  /** The SDK's metric exporter, reporting as {@code metrics} to {@code endpoint}. */
  static MetricExporter metrics(MetricExporter exporter, String endpoint) {
    return new Metrics(exporter, new ExportFailureLog("metrics", endpoint));
  }

  /** The SDK's log exporter, reporting as {@code log records} to {@code endpoint}. */
  static LogRecordExporter logs(LogRecordExporter exporter, String endpoint) {
    return new Logs(exporter, new ExportFailureLog("log records", endpoint));
  }

  /** The line logged for the first failure of a run: what, where, and why. */
  public static String failureMessage(String what, String endpoint, Throwable failure) {
    return "exporting " + what + " to " + endpoint + " failed: " + reason(failure)
        + "; retried with each export, reported again when it works";
  }

  /** Why an export failed, from what the SDK's exporter gave its result. */
  public static String reason(Throwable failure) {
    Throwable t = failure;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof FailedExportException.HttpExportException http && http.failedWithResponse()) {
      String message = http.getResponse().getStatusMessage();
      // Some senders give the code again as the message; only a reason phrase adds anything.
      return "the collector answered HTTP " + http.getResponse().getStatusCode()
          + (message == null || message.isBlank() || message.trim().matches("\\d+") ? "" : " " + message.trim());
    }
    if (t instanceof FailedExportException.GrpcExportException grpc && grpc.failedWithResponse()) {
      String description = grpc.getResponse().getStatusDescription();
      return "the collector answered gRPC status " + grpc.getResponse().getStatusCode()
          + (description == null || description.isBlank() ? "" : ": " + description);
    }
    if (t instanceof FailedExportException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t == null) {
      return "the exporter gave no reason";
    }
    String detail = t.getMessage() == null || t.getMessage().isBlank() ? t.getClass().getName() : t.toString();
    if (t instanceof ConnectException) {
      return "cannot connect (" + detail + ")";
    }
    if (t instanceof UnknownHostException) {
      return "unknown host (" + detail + ")";
    }
    if (t instanceof InterruptedIOException || t instanceof HttpTimeoutException) {
      return "no answer in time (" + detail + ")";
    }
    if (t instanceof SSLException) {
      return "TLS failed (" + detail + ")";
    }
    return detail;
  }

  CompletableResultCode watch(CompletableResultCode result) {
    result.whenComplete(() -> completed(result));
    return result;
  }

  private void completed(CompletableResultCode result) {
    if (result.isSuccess()) {
      int failed = failedInARow.getAndSet(0);
      if (failed > 0) {
        LOG.info(() -> "exporting " + what + " to " + endpoint + " works again, after " + failed + " failed export"
            + (failed == 1 ? "" : "s"));
      }
    } else if (failedInARow.getAndIncrement() == 0) {
      LOG.warning(failureMessage(what, endpoint, result.getFailureThrowable()));
    } else {
      LOG.fine(() -> failureMessage(what, endpoint, result.getFailureThrowable()));
    }
  }

  private static final class Spans implements SpanExporter {
    private final SpanExporter delegate;
    private final ExportFailureLog log;

    Spans(SpanExporter delegate, ExportFailureLog log) {
      this.delegate = delegate;
      this.log = log;
    }

    @Override
    public CompletableResultCode export(Collection<SpanData> spans) {
      return log.watch(delegate.export(spans));
    }

    @Override
    public CompletableResultCode flush() {
      return delegate.flush();
    }

    @Override
    public CompletableResultCode shutdown() {
      return delegate.shutdown();
    }

    @Override
    public String toString() {
      return delegate.toString();
    }
  }

  private static final class Metrics implements MetricExporter {
    private final MetricExporter delegate;
    private final ExportFailureLog log;

    Metrics(MetricExporter delegate, ExportFailureLog log) {
      this.delegate = delegate;
      this.log = log;
    }

    @Override
    public CompletableResultCode export(Collection<MetricData> metrics) {
      return log.watch(delegate.export(metrics));
    }

    @Override
    public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
      return delegate.getAggregationTemporality(instrumentType);
    }

    @Override
    public Aggregation getDefaultAggregation(InstrumentType instrumentType) {
      return delegate.getDefaultAggregation(instrumentType);
    }

    @Override
    public MemoryMode getMemoryMode() {
      return delegate.getMemoryMode();
    }

    @Override
    public CompletableResultCode flush() {
      return delegate.flush();
    }

    @Override
    public CompletableResultCode shutdown() {
      return delegate.shutdown();
    }

    @Override
    public String toString() {
      return delegate.toString();
    }
  }

  private static final class Logs implements LogRecordExporter {
    private final LogRecordExporter delegate;
    private final ExportFailureLog log;

    Logs(LogRecordExporter delegate, ExportFailureLog log) {
      this.delegate = delegate;
      this.log = log;
    }

    @Override
    public CompletableResultCode export(Collection<LogRecordData> logs) {
      return log.watch(delegate.export(logs));
    }

    @Override
    public CompletableResultCode flush() {
      return delegate.flush();
    }

    @Override
    public CompletableResultCode shutdown() {
      return delegate.shutdown();
    }

    @Override
    public String toString() {
      return delegate.toString();
    }
  }
}
