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
  /** The request was malformed or ambiguous (request smuggling, an obfuscated Transfer-Encoding): 400. */
  BAD_REQUEST("BR", "bad_request"),
  /** The client stopped sending its request body for longer than the body timeout: 408. */
  REQUEST_BODY_TIMEOUT("DT", "request_body_timeout"),
  /** The client went away before its request body was complete: the upstream's connection was cut. Envoy: DC. */
  CLIENT_DISCONNECTED("DC", "client_disconnected"),
  /** The upstream's response could not be framed (conflicting Content-Length): 502. Envoy: UPE. */
  UPSTREAM_PROTOCOL_ERROR("UPE", "upstream_protocol_error"),
  /** The destination is not allowed by the egress policy: 403. */
  EGRESS_DENIED("ED", "egress_denied"),
  /** The destination's name did not resolve, or the resolver was saturated: 502. Envoy: DF. */
  DNS_RESOLUTION_FAILED("DF", "dns_resolution_failed"),
  /** The request has already passed through this proxy (a forwarding loop): 508. */
  LOOP_DETECTED("LD", "loop_detected"),
  /**
   * The caller may not call this path ({@code AUTHZ_POLICY}): 403; for gRPC, {@code PERMISSION_DENIED}. (Envoy's
   * RBAC filter sets no flag; {@code UA} is ours.)
   */
  UNAUTHORIZED("UA", "unauthorized"),
  /** The caller is over a limit of {@code RATE_LIMITS}: 429; for gRPC, {@code RESOURCE_EXHAUSTED}. Envoy: RL. */
  RATE_LIMITED("RL", "rate_limited");

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

  /**
   * Whether this flag counts as an upstream failure for a {@link CircuitBreaker}. An upstream whose name did
   * not resolve when connecting could not be reached, as one that refused; an egress destination refused
   * before any upstream was picked never reaches a breaker.
   */
  public boolean isUpstreamFailure() {
    return this == UPSTREAM_REFUSED || this == UPSTREAM_TIMEOUT || this == UPSTREAM_RESET || this == UPSTREAM_PROTOCOL_ERROR
        || this == DNS_RESOLUTION_FAILED;
  }
}
