package dev.sidecars.runtime.http;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import java.util.function.BooleanSupplier;

/**
 * Once a sidecar's stop has begun, every answer closes its connection ({@code Connection: close}), so
 * keep-alive clients reconnect, and reach another endpoint, instead of reusing a connection to a
 * proxy that is draining. Outermost in the chain, so refusals at the end of a drain close theirs too.
 */
public final class CloseWhileStopping implements HttpHandler {
  private final HttpHandler next;
  private final BooleanSupplier stopping;

  public CloseWhileStopping(HttpHandler next, BooleanSupplier stopping) {
    this.next = next;
    this.stopping = stopping;
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    if (stopping.getAsBoolean()) {
      exchange.setPersistent(false);
    }
    next.handleRequest(exchange);
  }
}
