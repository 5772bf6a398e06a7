package dev.sidecars.traceinjector.egress;

import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.proxy.ExchangeHandler;
import dev.sidecars.runtime.proxy.ProxyExchange;
import dev.sidecars.runtime.proxy.Tunnel;
import io.netty.handler.codec.http.HttpMethod;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Function;

/**
 * {@code CONNECT} (what {@code HTTPS_PROXY} clients send) only to the host and port pairs the {@link
 * EgressPolicy} allows, 443 unless an entry names another port. An allowed tunnel is opened ({@link Tunnel})
 * to the address the host resolved to off the event loop, bytes as they are, no span. A refused one goes
 * to the handler {@code refusals} makes for it (the telemetry chain ending in {@link RoutingHandler#refuse}),
 * so it is logged, flagged and counted like any refusal. Other methods go to {@code others} untouched.
 */
public final class ConnectGate implements ExchangeHandler {
  private final ExchangeHandler others;
  private final EgressResolution egress;
  private final Function<EgressResolution.Refused, ExchangeHandler> refusals;
  private final Duration connectTimeout;

  /**
   * @param others every request that is not a {@code CONNECT} (the telemetry chain)
   * @param refusals the handler that answers a refused {@code CONNECT} with the refusal given
   */
  public ConnectGate(ExchangeHandler others, EgressResolution egress,
      Function<EgressResolution.Refused, ExchangeHandler> refusals, Duration connectTimeout) {
    this.others = others;
    this.egress = egress;
    this.refusals = refusals;
    this.connectTimeout = connectTimeout;
  }

  @Override
  public void handle(ProxyExchange exchange) {
    if (!HttpMethod.CONNECT.equals(exchange.request().method())) {
      others.handle(exchange);
      return;
    }
    if (exchange.isHttp2()) {
      refusals.apply(new EgressResolution.Refused(ResponseFlag.BAD_REQUEST, 400,
          "CONNECT over HTTP/2 is not supported: send it over HTTP/1.1")).handle(exchange);
      return;
    }
    String target = exchange.request().uri().toLowerCase(Locale.ROOT);
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
      refusals.apply(new EgressResolution.Refused(ResponseFlag.BAD_REQUEST, 400, "CONNECT needs host:port")).handle(exchange);
      return;
    }
    int destinationPort = port;
    egress.resolve(exchange, target.substring(0, colon), port, true, (ex, result) -> {
      if (result instanceof EgressResolution.Refused refused) {
        refusals.apply(refused).handle(ex);
        return;
      }
      Tunnel.open(ex, new InetSocketAddress(((EgressResolution.Allowed) result).address(), destinationPort), connectTimeout);
    });
  }
}
