package dev.sidecars.runtime.http;

import java.util.Set;

/**
 * The HTTP methods the semantic conventions know; any other method is reported as {@code _OTHER}, so a
 * client cannot create metric series by inventing methods.
 */
public final class HttpMethods {
  /** What an unknown method becomes in labels and in {@code http.request.method}. */
  public static final String OTHER = "_OTHER";

  private static final Set<String> KNOWN =
      Set.of("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY");

  private HttpMethods() {}

  /** {@code method} when it is a known method (case-sensitive, as HTTP methods are), else {@link #OTHER}. */
  public static String normalize(String method) {
    return method != null && KNOWN.contains(method) ? method : OTHER;
  }
}
