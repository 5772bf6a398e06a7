package dev.sidecars.collector.ingest;

import java.util.Optional;

/** How the collector answers one OTLP export, decided once and then spoken in HTTP or gRPC terms. */
public sealed interface Outcome {
  /** Stored; {@code rejected} items were refused (partial success) with {@code message}. */
  record Accepted(long rejected, String message) implements Outcome {
    public static final Accepted FULLY = new Accepted(0, "");

    public boolean isPartial() {
      return rejected > 0 || !message.isEmpty();
    }
  }

  /** Refused whole with an HTTP status (and gRPC's equivalent). */
  record Refused(int httpStatus, Optional<Integer> retryAfterSeconds, String message) implements Outcome {
    public static Refused badRequest(String message) {
      return new Refused(400, Optional.empty(), message);
    }

    /** The gRPC code OTLP pairs with this HTTP status. */
    public io.grpc.Status.Code grpcCode() {
      return switch (httpStatus) {
        case 400 -> io.grpc.Status.Code.INVALID_ARGUMENT;
        case 413, 429 -> io.grpc.Status.Code.RESOURCE_EXHAUSTED;
        case 503, 502, 504 -> io.grpc.Status.Code.UNAVAILABLE;
        case 415 -> io.grpc.Status.Code.UNIMPLEMENTED;
        default -> io.grpc.Status.Code.INTERNAL;
      };
    }

    /** Whether a sender may retry: only these carry {@code Retry-After} / {@code RetryInfo}. */
    public boolean isThrottle() {
      return httpStatus == 429 || httpStatus == 503;
    }
  }
}
