package dev.sidecars.runtime.http;

/**
 * Why the proxy itself answered instead of the upstream, as in Envoy's {@code %RESPONSE_FLAGS%}; shown in
 * the access log ({@code flags}) and as the span's {@code error.type}.
 */
public enum ResponseFlag {
  /** The upstream refused or could not be reached: 502. Envoy: UF. */
  UPSTREAM_REFUSED("UF", "connection_refused"),
  /** The upstream did not answer within the upstream timeout: 504. Envoy: UT. */
  UPSTREAM_TIMEOUT("UT", "timeout"),
  /** The upstream closed or reset the connection before a full response: 502. Envoy: UC. */
  UPSTREAM_RESET("UC", "connection_reset"),
  /** The circuit breaker is open, so the upstream was not tried: 503. Envoy: UO. */
  CIRCUIT_OPEN("UO", "circuit_open"),
  /** Too many requests in flight: 503. Envoy's overload manager: OM. */
  OVERLOAD("OM", "overload"),
  /** The request body was larger than allowed: 413. */
  REQUEST_TOO_LARGE("RTL", "request_too_large"),
  /** The request was malformed or ambiguous (request smuggling): 400. */
  BAD_REQUEST("BR", "bad_request");

  private final String code;
  private final String errorType;

  ResponseFlag(String code, String errorType) {
    this.code = code;
    this.errorType = errorType;
  }

  /** The short code of the access log. */
  public String code() {
    return code;
  }

  /** The value for {@code error.type}. */
  public String errorType() {
    return errorType;
  }

  /** Whether this flag counts as an upstream failure for a {@link CircuitBreaker}. */
  public boolean isUpstreamFailure() {
    return this == UPSTREAM_REFUSED || this == UPSTREAM_TIMEOUT || this == UPSTREAM_RESET;
  }
}
