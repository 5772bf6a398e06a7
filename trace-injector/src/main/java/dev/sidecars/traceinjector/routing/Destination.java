package dev.sidecars.traceinjector.routing;

/**
 * Where one request goes: the service (an {@code UPSTREAMS} name, or a host reached by DNS with its
 * port), and the path and query to ask it for.
 *
 * @param service the name as the app used it, lower case; also the metric label and {@code peer.service}
 * @param port the port for a DNS host (80 unless the request named one); unused for listed names
 * @param pathAndQuery what goes on the request line upstream, always starting with {@code /}
 * @param mode which of the three ways the app addressed the sidecar
 */
public record Destination(String service, int port, String pathAndQuery, Mode mode) {
  /** The three ways an app reaches a service through the sidecar. */
  public enum Mode {
    /** {@code http://localhost:15002/<service>/<path>}. */
    PATH_PREFIX,
    /** {@code Host: <service>} on a request to the sidecar. */
    HOST_HEADER,
    /** An absolute-form request from an app that uses the sidecar as {@code HTTP_PROXY}. */
    FORWARD_PROXY
  }
}
