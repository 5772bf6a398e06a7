package dev.sidecars.collector.ingest;

import io.opentelemetry.proto.trace.v1.Span;

/**
 * The id lengths OTLP gives spans: a 16-byte trace id and 8-byte span ids. A span whose ids have other
 * lengths is refused as OTLP/JSON refuses one with ids of the wrong number of hex digits, whatever the
 * encoding it came in; an id left out (empty) is let through, as it is there.
 */
final class SpanIds {
  private SpanIds() {}

  static void check(Span span) throws MalformedRequestException {
    check("traceId", span.getTraceId().size(), 16);
    check("spanId", span.getSpanId().size(), 8);
    check("parentSpanId", span.getParentSpanId().size(), 8);
  }

  private static void check(String field, int length, int expected) throws MalformedRequestException {
    if (length != 0 && length != expected) {
      throw new MalformedRequestException("a span's " + field + " has " + length + " bytes; OTLP ids of that kind have " + expected);
    }
  }
}
