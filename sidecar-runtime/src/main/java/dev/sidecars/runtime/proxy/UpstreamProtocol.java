package dev.sidecars.runtime.proxy;

import java.util.Locale;
import java.util.Optional;

/** How requests reach an upstream: the protocol the client used ({@code auto}), or always one. */
public enum UpstreamProtocol {
  /** HTTP/2 requests go out as h2c, HTTP/1.1 ones as HTTP/1.1. */
  AUTO("auto"),
  /** Always HTTP/1.1 (HTTP/2 requests translated, trailers as chunked trailers). */
  HTTP1("http1"),
  /** Always HTTP/2: cleartext with prior knowledge, or over TLS offering only {@code h2} (HTTP/1.1 requests translated). */
  H2C("h2c");

  private final String text;

  UpstreamProtocol(String text) {
    this.text = text;
  }

  /** The name as configured: {@code auto}, {@code http1} or {@code h2c}. */
  public String text() {
    return text;
  }

  /**
   * The protocol named {@code value} (case-insensitive), or empty. {@code h2} is {@code h2c}'s other name,
   * the natural one for a TLS upstream (HTTP/2 always, offered alone by ALPN).
   */
  public static Optional<UpstreamProtocol> parse(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    if (v.equals("h2")) {
      return Optional.of(H2C);
    }
    for (UpstreamProtocol p : values()) {
      if (p.text.equals(v)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /**
   * Whether a request goes out as HTTP/2. An upgrade (WebSocket) always goes as HTTP/1.1: it turns the
   * connection into a tunnel, which HTTP/2 has no plain form of.
   */
  boolean http2(boolean http2Request, boolean upgrade) {
    if (upgrade) {
      return false;
    }
    return switch (this) {
      case AUTO -> http2Request;
      case HTTP1 -> false;
      case H2C -> true;
    };
  }
}
