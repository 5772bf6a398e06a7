package dev.sidecars.runtime.proxy;

/** The host and port of a {@code Host} header ({@code name}, {@code name:port}, {@code [v6]:port}). */
final class HostHeader {
  private HostHeader() {}

  static String name(String host) {
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      return end < 0 ? host : host.substring(1, end);
    }
    int colon = host.lastIndexOf(':');
    return colon < 0 ? host : host.substring(0, colon);
  }

  static int port(String host, int fallback) {
    int colon = host.lastIndexOf(':');
    if (colon < 0 || host.indexOf(']', colon) >= 0) {
      return fallback;
    }
    try {
      return Integer.parseInt(host, colon + 1, host.length(), 10);
    } catch (NumberFormatException e) {
      return fallback;
    }
  }
}
