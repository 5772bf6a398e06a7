package dev.sidecars.logforwarder.ship;

import java.time.Duration;
import java.util.Optional;

/**
 * The collector's answer to one export request.
 *
 * @param outcome what it means for the batch
 * @param rejectedRecords records the collector accepted the request without storing (OTLP partial success)
 * @param retryAfter how long the collector asked to wait before the next attempt ({@code Retry-After})
 * @param description a short description for the log, such as {@code HTTP 503}
 */
public record SendResult(ExportOutcome outcome, long rejectedRecords, Optional<Duration> retryAfter, String description) {
  static SendResult accepted(long rejected, String message) {
    return new SendResult(ExportOutcome.ACCEPTED, rejected, Optional.empty(), message);
  }

  static SendResult retry(String description) {
    return new SendResult(ExportOutcome.RETRY, 0, Optional.empty(), description);
  }
}
