package dev.sidecars.runtime.proxy;

import java.net.InetSocketAddress;

/**
 * An upstream address the client keeps connections to. The name is resolved when a connection is made
 * (connections are pooled, so rarely), by the client's {@code HostResolver}, off the event loop.
 */
public record Endpoint(String host, int port) {
  InetSocketAddress address() {
    return InetSocketAddress.createUnresolved(host, port);
  }

  /** {@code host:port}, as a {@code Host} header or a label gives it. */
  public String authority() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
