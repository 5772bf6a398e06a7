package dev.sidecars.traceinjector.routing;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the {@link Destination} of a request: absolute-form means forward proxy; a {@code Host} that is
 * not one of the sidecar's own names means Host-header routing; otherwise the first path segment names
 * the service.
 */
public final class Router {
  private final Set<String> ownNames;

  /** @param ownNames host names (lower case) that mean "the sidecar itself", besides loopback addresses */
  public Router(Set<String> ownNames) {
    this.ownNames = Set.copyOf(ownNames);
  }

  /**
   * Where a request goes, from its target as sent ({@code requestTarget}: origin or absolute form) and its
   * {@code Host} (an HTTP/2 request's {@code :authority}), or {@code null}. Empty when the request names no
   * service (a bare {@code /} to the sidecar, say).
   */
  public Optional<Destination> route(String requestTarget, String host) {
    int q = requestTarget.indexOf('?');
    String raw = q < 0 ? requestTarget : requestTarget.substring(0, q);
    String query = q < 0 ? "" : requestTarget.substring(q + 1);
    String suffix = query.isEmpty() ? "" : "?" + query;
    if (!raw.startsWith("/") && raw.contains("://")) {
      return absolute(requestTarget);
    }
    HostAndPort target = host == null ? null : HostAndPort.parse(host);
    if (target != null && !isOwn(target.host())) {
      if (!HostAndPort.validHost(target.host()) || target.port() < 1 || target.port() > 65535) {
        return Optional.empty();
      }
      return Optional.of(new Destination(target.host(), target.port(), raw + suffix, Destination.Mode.HOST_HEADER));
    }
    int start = raw.startsWith("/") ? 1 : 0;
    int slash = raw.indexOf('/', start);
    String service = slash < 0 ? raw.substring(start) : raw.substring(start, slash);
    if (service.isEmpty() || !HostAndPort.validHost(service.toLowerCase(Locale.ROOT))) {
      return Optional.empty();
    }
    String rest = slash < 0 ? "/" : raw.substring(slash);
    return Optional.of(new Destination(service.toLowerCase(Locale.ROOT), 80, rest + suffix, Destination.Mode.PATH_PREFIX));
  }

  private static Optional<Destination> absolute(String requestTarget) {
    try {
      URI uri = new URI(requestTarget);
      if (uri.getHost() == null || !"http".equalsIgnoreCase(uri.getScheme())) {
        return Optional.empty();
      }
      String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
      String suffix = uri.getRawQuery() == null || uri.getRawQuery().isEmpty() ? "" : "?" + uri.getRawQuery();
      int port = uri.getPort() < 0 ? 80 : uri.getPort();
      return Optional.of(new Destination(uri.getHost().toLowerCase(Locale.ROOT), port, path + suffix, Destination.Mode.FORWARD_PROXY));
    } catch (URISyntaxException e) {
      return Optional.empty();
    }
  }

  private boolean isOwn(String host) {
    return ownNames.contains(host)
        || host.equals("localhost")
        || host.startsWith("127.")
        || host.equals("[::1]")
        || host.equals("::1")
        || host.equals("0.0.0.0");
  }

  /** A {@code Host} header value split into a lower-case host and a port (80 when absent). */
  record HostAndPort(String host, int port) {
    static HostAndPort parse(String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      int colon = v.lastIndexOf(':');
      if (colon > 0 && v.indexOf(']') < colon) {
        try {
          return new HostAndPort(v.substring(0, colon), Integer.parseInt(v.substring(colon + 1)));
        } catch (NumberFormatException e) {
          return new HostAndPort(v, 80);
        }
      }
      return new HostAndPort(v, 80);
    }

    static boolean validHost(String host) {
      return host.matches("[a-z0-9]([a-z0-9._-]{0,252}[a-z0-9])?");
    }
  }
}
