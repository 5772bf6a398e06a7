package dev.sidecars.runtime.http;

import dev.sidecars.runtime.propagation.Propagation;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.net.InetSocketAddress;

/**
 * Wraps an Undertow proxy handler and records one span, one set of {@link HttpMetrics} measurements and
 * one {@link AccessLog} line per exchange ({@link HttpTelemetry}), including the exchanges inner handlers
 * answer themselves.
 *
 * <p>The span continues the context the request carries, in any format of the configured {@link
 * Propagation} (an invalid context starts a new trace), and its context replaces the trace headers of
 * the request passed on, so the next hop continues this span. On the client side the metrics are
 * labelled by the {@link ExchangeOutcome#target()} an inner handler set.
 */
public final class HttpTelemetryHandler implements HttpHandler {
  private final HttpHandler next;
  private final HttpTelemetry telemetry;
  private final boolean server;

  /**
   * @param routes the route templates (server side; ignored on the client side)
   * @param accessLog where lines go, or {@link AccessLog#off()}
   */
  public HttpTelemetryHandler(
      HttpHandler next,
      Tracer tracer,
      Propagation propagation,
      HttpMetrics metrics,
      RouteTemplates routes,
      AccessLog accessLog) {
    this.next = next;
    this.telemetry = new HttpTelemetry(tracer, propagation, metrics, routes, accessLog);
    this.server = metrics.side() == HttpMetrics.Side.SERVER;
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    ExchangeOutcome outcome = ExchangeOutcome.of(exchange);
    HeaderMap headers = exchange.getRequestHeaders();
    Context parent = telemetry.propagation().extract(headers);
    HttpTelemetry.Recording recording = telemetry.start(
        new HttpTelemetry.Request(
            exchange.getRequestMethod().toString(),
            exchange.getRequestPath(),
            exchange.getRequestScheme(),
            protocolVersion(exchange),
            server ? exchange.getHostName() : null,
            server ? exchange.getHostPort() : 0,
            clientAddress(exchange),
            headers.getFirst(Headers.USER_AGENT)),
        parent,
        outcome.startNanos());
    // Replace whatever trace headers came in: the next hop's parent is this span.
    telemetry.propagation().inject(recording.context(), headers);
    exchange.addExchangeCompleteListener(
        (ex, nextListener) -> {
          try {
            long end = System.nanoTime();
            recording.finish(ex.getStatusCode(), outcome.flag().orElse(null), outcome.target().orElse(null),
                requestBytes(ex), ex.getResponseBytesSent(), end, outcome.upstreamNanos(end));
          } finally {
            nextListener.proceed();
          }
        });
    try (Scope ignored = recording.context().makeCurrent()) {
      next.handleRequest(exchange);
    } catch (Exception | Error e) {
      recording.recordException(e);
      throw e;
    }
  }

  /** Body bytes as declared; chunked bodies are not counted (-1). */
  private static long requestBytes(HttpServerExchange exchange) {
    long declared = exchange.getRequestContentLength();
    if (declared >= 0) {
      return declared;
    }
    HeaderValues te = exchange.getRequestHeaders().get(Headers.TRANSFER_ENCODING);
    return te == null ? 0 : -1;
  }

  private static String clientAddress(HttpServerExchange exchange) {
    InetSocketAddress peer = exchange.getSourceAddress();
    return peer == null || peer.getAddress() == null ? null : peer.getAddress().getHostAddress();
  }

  private static String protocolVersion(HttpServerExchange exchange) {
    String protocol = exchange.getProtocol().toString();
    int slash = protocol.indexOf('/');
    return slash < 0 ? protocol : protocol.substring(slash + 1);
  }
}
