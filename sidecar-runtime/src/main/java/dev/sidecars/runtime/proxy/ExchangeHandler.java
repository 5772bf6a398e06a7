package dev.sidecars.runtime.proxy;

/**
 * Handles one proxied exchange. The proxy is a chain of these: decorators that look at or refuse the
 * request, add listeners, and pass it to the next, down to a {@link Forwarder} that sends it on.
 * Called on the exchange's event loop; must not block.
 */
@FunctionalInterface
public interface ExchangeHandler {
  void handle(ProxyExchange exchange);
}
