package dev.sidecars.collector.store;

import io.opentelemetry.proto.trace.v1.Span;

/**
 * A span with its protobuf encoding as it arrived ({@code length} bytes of {@code bytes} from {@code
 * offset}), so the store copies the bytes it was sent and never encodes the span again: re-encoding cost
 * more CPU than decoding on the ingest path.
 */
public record EncodedSpan(Span span, byte[] bytes, int offset, int length) {
  /** For spans that arrived already decoded (gRPC, JSON): encodes once. */
  public static EncodedSpan of(Span span) {
    byte[] encoded = span.toByteArray();
    return new EncodedSpan(span, encoded, 0, encoded.length);
  }
}
