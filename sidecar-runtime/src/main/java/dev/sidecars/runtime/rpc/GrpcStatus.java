package dev.sidecars.runtime.rpc;

import dev.sidecars.runtime.http.ResponseFlag;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** gRPC status codes: their names, which count as errors, and what the proxy's own answers become. */
public final class GrpcStatus {
  public static final int OK = 0;
  public static final int CANCELLED = 1;
  public static final int UNKNOWN = 2;
  public static final int DEADLINE_EXCEEDED = 4;
  public static final int PERMISSION_DENIED = 7;
  public static final int RESOURCE_EXHAUSTED = 8;
  public static final int UNIMPLEMENTED = 12;
  public static final int INTERNAL = 13;
  public static final int UNAVAILABLE = 14;
  public static final int DATA_LOSS = 15;
  public static final int UNAUTHENTICATED = 16;

  private static final String[] NAMES = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
      "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};

  private GrpcStatus() {}

  /** The code of a {@code grpc-status} value, or -1 when it is absent or not a code. */
  public static int parse(String value) {
    if (value == null || value.isEmpty() || value.length() > 2) {
      return -1;
    }
    try {
      int code = Integer.parseInt(value.trim());
      return code >= 0 && code < NAMES.length ? code : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** {@code UNAVAILABLE} for 14, and so on. */
  public static String name(int code) {
    return code >= 0 && code < NAMES.length ? NAMES[code] : Integer.toString(code);
  }

  /**
   * Whether a call that ended with {@code code} is an error for the span: on the server side the codes the
   * RPC conventions name (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS),
   * the others being the client's fault; on the client side every code but OK.
   */
  public static boolean isError(int code, boolean server) {
    if (!server) {
      return code != OK;
    }
    return code == UNKNOWN || code == DEADLINE_EXCEEDED || code == UNIMPLEMENTED || code == INTERNAL
        || code == UNAVAILABLE || code == DATA_LOSS;
  }

  /**
   * The code of an answer the proxy gave itself instead of the upstream: by why it answered ({@code flag},
   * may be {@code null}), else by its HTTP status as gRPC maps HTTP statuses (429, 502, 503 and 504 are
   * UNAVAILABLE, so a client may try again elsewhere).
   */
  public static int forProxyAnswer(ResponseFlag flag, int httpStatus) {
    if (flag != null) {
      switch (flag) {
        case UPSTREAM_TIMEOUT:
          return DEADLINE_EXCEEDED;
        case OVERLOAD:
        case REQUEST_TOO_LARGE:
        case RATE_LIMITED:
          return RESOURCE_EXHAUSTED;
        case UPSTREAM_REFUSED:
        case UPSTREAM_RESET:
        case CIRCUIT_OPEN:
        case DNS_RESOLUTION_FAILED:
          return UNAVAILABLE;
        case CLIENT_DISCONNECTED:
        case REQUEST_BODY_TIMEOUT:
          return CANCELLED;
        case EGRESS_DENIED:
        case UNAUTHORIZED:
          return PERMISSION_DENIED;
        case BAD_REQUEST:
        case UPSTREAM_PROTOCOL_ERROR:
        case LOOP_DETECTED:
          return INTERNAL;
        default:
          break;
      }
    }
    return forHttpStatus(httpStatus);
  }

  /** gRPC's mapping of an HTTP status that came without a {@code grpc-status}. */
  public static int forHttpStatus(int httpStatus) {
    switch (httpStatus) {
      case 400:
        return INTERNAL;
      case 401:
        return UNAUTHENTICATED;
      case 403:
        return PERMISSION_DENIED;
      case 404:
        return UNIMPLEMENTED;
      case 413:
      case 431:
        return RESOURCE_EXHAUSTED;
      case 429:
      case 502:
      case 503:
      case 504:
        return UNAVAILABLE;
      default:
        return UNKNOWN;
    }
  }

  /** A {@code grpc-message} value: UTF-8, percent-encoded outside printable ASCII and {@code %}, as gRPC requires. */
  public static String encodeMessage(String message) {
    byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length);
    for (byte b : bytes) {
      if (b >= 0x20 && b <= 0x7e && b != '%') {
        out.write(b);
      } else {
        out.write('%');
        out.write(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)));
        out.write(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
      }
    }
    return out.toString(StandardCharsets.US_ASCII);
  }
}
