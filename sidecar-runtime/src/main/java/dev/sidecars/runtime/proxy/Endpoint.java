package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.tls.UpstreamTls;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * An upstream address the client keeps connections to, and whether they speak TLS. The name is resolved
 * when a connection is made (connections are pooled, so rarely), by the client's {@code HostResolver}, off
 * the event loop.
 *
 * @param tls how its connections speak TLS, or {@code null} for cleartext
 */
public record Endpoint(String host, int port, Tls tls) {
  /**
   * TLS to an endpoint: the client side, and what it checks and offers there.
   *
   * @param client the contexts, the handshake timeout and the failure counter
   * @param destination the name sent as SNI and verified (or the identities expected instead), and the ALPN
   *     offer: {@code [h2]} makes every connection HTTP/2, {@code [http/1.1]} HTTP/1.1, and with both the
   *     server's choice decides
   */
  public record Tls(UpstreamTls client, UpstreamTls.Destination destination) {
    public Tls {
      Objects.requireNonNull(client, "client");
      Objects.requireNonNull(destination, "destination");
    }

    /** Whether a connection that negotiated {@code alpn} speaks HTTP/2. */
    boolean http2(String alpn) {
      var offer = destination.applicationProtocols();
      return offer.size() == 1 ? offer.get(0).equals("h2") : "h2".equals(alpn);
    }

    /** The same, offering only {@code http/1.1}. */
    Tls http1Only() {
      if (!serverChooses()) {
        return this;
      }
      return new Tls(client, new UpstreamTls.Destination(destination.host(), destination.port(),
          destination.expectedIdentities(), java.util.List.of("http/1.1")));
    }

    /** Whether the server's ALPN choice decides the protocol (both were offered). */
    boolean serverChooses() {
      return destination.applicationProtocols().size() > 1;
    }
  }

  /** A cleartext endpoint. */
  public Endpoint(String host, int port) {
    this(host, port, null);
  }

  InetSocketAddress address() {
    return InetSocketAddress.createUnresolved(host, port);
  }

  /** {@code host:port}, as a {@code Host} header or a label gives it. */
  public String authority() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
