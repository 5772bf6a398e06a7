package dev.sidecars.traceinjector.egress;

import dev.sidecars.runtime.http.ResponseFlag;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.ConnectHandler;
import io.undertow.util.Methods;
import java.net.Inet6Address;
import java.util.Locale;

/**
 * {@code CONNECT} (what {@code HTTPS_PROXY} clients send) only to the host and port pairs the {@link
 * EgressPolicy} allows, 443 unless an entry names another port. An allowed tunnel goes to Undertow's {@link
 * ConnectHandler} with the host already resolved off the I/O thread (it would otherwise look the name up on
 * it), bytes as they are, no span. A refused one goes to {@code refusals} (the telemetry chain, whose
 * {@link RoutingHandler} answers 403 or 502), so it is logged, flagged and counted like any refusal. Other
 * methods go to {@code refusals} untouched.
 */
public final class ConnectGate implements HttpHandler {
  private final HttpHandler tunnel;
  private final HttpHandler others;
  private final EgressResolution egress;

  /** @param others every request that is not an allowed {@code CONNECT} (the telemetry chain) */
  public ConnectGate(HttpHandler others, EgressResolution egress) {
    this.tunnel = new ConnectHandler(others);
    this.others = others;
    this.egress = egress;
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    if (!exchange.getRequestMethod().equals(Methods.CONNECT)) {
      others.handleRequest(exchange);
      return;
    }
    String target = exchange.getRequestPath().toLowerCase(Locale.ROOT);
    int colon = target.lastIndexOf(':');
    int port = -1;
    if (colon > 0) {
      try {
        port = Integer.parseInt(target.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
    }
    if (port < 1 || port > 65535) {
      EgressResolution.markRefused(exchange, new EgressResolution.Refused(
          ResponseFlag.BAD_REQUEST, 400, "CONNECT needs host:port"));
      others.handleRequest(exchange);
      return;
    }
    int destinationPort = port;
    egress.resolve(exchange, target.substring(0, colon), port, true, (ex, result) -> {
      if (result instanceof EgressResolution.Refused refused) {
        EgressResolution.markRefused(ex, refused);
        others.handleRequest(ex);
        return;
      }
      var address = ((EgressResolution.Allowed) result).address();
      if (address instanceof Inet6Address) {
        // Undertow's tunnel reads host:port by splitting at ':'.
        EgressResolution.markRefused(ex, new EgressResolution.Refused(
            ResponseFlag.BAD_REQUEST, 400, "CONNECT to an IPv6 address is not supported"));
        others.handleRequest(ex);
        return;
      }
      ex.setRequestPath(address.getHostAddress() + ":" + destinationPort);
      tunnel.handleRequest(ex);
    });
  }
}
