package dev.sidecars.logforwarder.parse;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** Timestamps as logs write them: RFC 3339 text, or epoch seconds, milliseconds, micro- or nanoseconds. */
final class Timestamps {
  private Timestamps() {}

  /** Epoch nanoseconds, or 0 when the value is not a timestamp. */
  static long parse(JsonNode value) {
    if (value == null) {
      return 0;
    }
    if (value.isNumber()) {
      return fromEpochNumber(value.decimalValue());
    }
    if (value.isTextual()) {
      return parse(value.asText());
    }
    return 0;
  }

  static long parse(String text) {
    if (text == null || text.isBlank()) {
      return 0;
    }
    String t = text.trim();
    if (!t.isEmpty() && Character.isDigit(t.charAt(0)) && t.chars().allMatch(c -> Character.isDigit(c) || c == '.')) {
      try {
        return fromEpochNumber(new BigDecimal(t));
      } catch (NumberFormatException e) {
        return 0;
      }
    }
    try {
      return nanos(OffsetDateTime.parse(t.replace(' ', 'T'), DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant());
    } catch (DateTimeParseException e) {
      return 0;
    }
  }

  /** Picks the unit by magnitude: before 2286 in seconds is below 1e10, in milliseconds below 1e13, ... */
  private static long fromEpochNumber(BigDecimal n) {
    if (n.signum() <= 0) {
      return 0;
    }
    BigDecimal nanos;
    if (n.compareTo(BigDecimal.valueOf(10_000_000_000L)) < 0) {
      nanos = n.movePointRight(9);
    } else if (n.compareTo(BigDecimal.valueOf(10_000_000_000_000L)) < 0) {
      nanos = n.movePointRight(6);
    } else if (n.compareTo(BigDecimal.valueOf(10_000_000_000_000_000L)) < 0) {
      nanos = n.movePointRight(3);
    } else {
      nanos = n;
    }
    try {
      return nanos.longValue();
    } catch (ArithmeticException e) {
      return 0;
    }
  }

  private static long nanos(Instant instant) {
    return instant.getEpochSecond() * 1_000_000_000L + instant.getNano();
  }
}
