package dev.sidecars.runtime.rpc;

/**
 * The gRPC call a request makes: its service ({@code package.Service}) and method, read from the path
 * {@code /package.Service/Method} of a request whose {@code content-type} is {@code application/grpc} or
 * {@code application/grpc+<codec>} (gRPC-Web, which frames trailers in the body, is not gRPC here).
 */
public record GrpcCall(String service, String method) {
  /** The service and method of a gRPC request whose path is not {@code /service/method}. */
  public static final String UNKNOWN = "_OTHER";

  private static final String GRPC = "application/grpc";

  /** The call, or {@code null} when the request is not gRPC. */
  public static GrpcCall of(String contentType, String path) {
    if (!isGrpc(contentType)) {
      return null;
    }
    int slash = path == null || !path.startsWith("/") ? -1 : path.indexOf('/', 1);
    if (slash < 2 || slash == path.length() - 1 || path.indexOf('/', slash + 1) >= 0) {
      return new GrpcCall(UNKNOWN, UNKNOWN);
    }
    return new GrpcCall(path.substring(1, slash), path.substring(slash + 1));
  }

  /** Whether a request or response of this {@code content-type} is gRPC. */
  public static boolean isGrpc(String contentType) {
    if (contentType == null || !contentType.regionMatches(true, 0, GRPC, 0, GRPC.length())) {
      return false;
    }
    if (contentType.length() == GRPC.length()) {
      return true;
    }
    char next = contentType.charAt(GRPC.length());
    return next == '+' || next == ';';
  }

  /** {@code package.Service/Method}, the span name the conventions give a call. */
  public String fullMethod() {
    return service + "/" + method;
  }
}
