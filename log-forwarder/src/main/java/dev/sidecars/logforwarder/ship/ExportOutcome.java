package dev.sidecars.logforwarder.ship;

import io.opentelemetry.exporter.internal.FailedExportException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.export.GrpcStatusCode;

/**
 * What the collector's answer to one export means for the batch. The SDK exporter reports a failed
 * export with the HTTP status or gRPC code in its {@link FailedExportException}; that is what lets a 400
 * be skipped while a 503 is retried.
 */
public enum ExportOutcome {
  /** Stored (including partial success: the SDK exporter does not report the rejected count). */
  ACCEPTED,
  /** Refused as malformed (HTTP 400, gRPC INVALID_ARGUMENT): retrying cannot help, so skip it. */
  REJECTED,
  /** HTTP 413: send it in smaller parts. */
  TOO_LARGE,
  /** Throttled, unavailable, timed out or unreachable: try the same batch again later. */
  RETRY;

  /** Classifies a finished (or timed-out, hence not done) export. */
  public static ExportOutcome of(CompletableResultCode result) {
    if (!result.isDone()) {
      return RETRY;
    }
    if (result.isSuccess()) {
      return ACCEPTED;
    }
    Throwable failure = result.getFailureThrowable();
    if (failure instanceof FailedExportException.HttpExportException http && http.failedWithResponse()) {
      return ofHttpStatus(http.getResponse().getStatusCode());
    }
    if (failure instanceof FailedExportException.GrpcExportException grpc && grpc.failedWithResponse()) {
      return ofGrpcStatus(grpc.getResponse().getStatusCode());
    }
    return RETRY;
  }

  static ExportOutcome ofHttpStatus(int status) {
    if (status >= 200 && status < 300) {
      return ACCEPTED;
    }
    if (status == 413) {
      return TOO_LARGE;
    }
    if (status == 400 || status == 422) {
      return REJECTED;
    }
    // Everything else (429, 5xx, but also 401/403/404 from a misconfigured endpoint) is retried: the
    // files hold the data, so waiting for an operator loses nothing while skipping would.
    return RETRY;
  }

  static ExportOutcome ofGrpcStatus(GrpcStatusCode code) {
    return switch (code) {
      case OK -> ACCEPTED;
      case INVALID_ARGUMENT -> REJECTED;
      default -> RETRY;
    };
  }

  /** A short description of the failure for the log, such as {@code HTTP 503}. */
  public static String describe(CompletableResultCode result) {
    if (!result.isDone()) {
      return "no answer in time";
    }
    Throwable failure = result.getFailureThrowable();
    if (failure instanceof FailedExportException.HttpExportException http) {
      return http.failedWithResponse()
          ? "HTTP " + http.getResponse().getStatusCode()
          : String.valueOf(http.getCause());
    }
    if (failure instanceof FailedExportException.GrpcExportException grpc) {
      return grpc.failedWithResponse()
          ? "gRPC " + grpc.getResponse().getStatusCode() + " " + grpc.getResponse().getStatusDescription()
          : String.valueOf(grpc.getCause());
    }
    return failure == null ? "export failed" : failure.toString();
  }
}
