package dev.sidecars.runtime.http;

import dev.sidecars.runtime.propagation.Propagation;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Optional;

/**
 * Wraps a proxy handler and records one span, one set of {@link HttpMetrics} measurements and one {@link
 * AccessLog} line per exchange, including the exchanges inner handlers answer themselves.
 *
 * <p>The span continues the context the request carries, in any format of the configured {@link
 * Propagation} (an invalid context starts a new trace), has the HTTP semantic-convention attributes, and
 * its context replaces the trace headers of the request passed on, so the next hop continues this span. Its kind and
 * the metrics' names follow {@link HttpMetrics#side()}: SERVER for an ingress proxy (labelled by route),
 * CLIENT for an egress proxy (labelled by the {@link ExchangeOutcome#target()} an inner handler set).
 * Server spans are errors on 5xx, client spans on 4xx and 5xx, as the conventions say.
 */
public final class HttpTelemetryHandler implements HttpHandler {
  private static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  private static final AttributeKey<String> METHOD_ORIGINAL = AttributeKey.stringKey("http.request.method_original");
  private static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
  private static final AttributeKey<String> SCHEME = AttributeKey.stringKey("url.scheme");
  private static final AttributeKey<String> ROUTE = AttributeKey.stringKey("http.route");
  private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  private static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  private static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  private static final AttributeKey<String> CLIENT_ADDRESS = AttributeKey.stringKey("client.address");
  private static final AttributeKey<String> USER_AGENT = AttributeKey.stringKey("user_agent.original");
  private static final AttributeKey<String> PROTOCOL_VERSION = AttributeKey.stringKey("network.protocol.version");
  private static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  private static final AttributeKey<Long> REQUEST_SIZE = AttributeKey.longKey("http.request.body.size");
  private static final AttributeKey<Long> RESPONSE_SIZE = AttributeKey.longKey("http.response.body.size");

  private final HttpHandler next;
  private final Tracer tracer;
  private final Propagation propagation;
  private final HttpMetrics metrics;
  private final RouteTemplates routes;
  private final AccessLog accessLog;
  private final SpanKind kind;

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
    this.tracer = tracer;
    this.propagation = propagation;
    this.metrics = metrics;
    this.routes = routes;
    this.accessLog = accessLog;
    this.kind = metrics.side() == HttpMetrics.Side.SERVER ? SpanKind.SERVER : SpanKind.CLIENT;
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    ExchangeOutcome outcome = ExchangeOutcome.of(exchange);
    String rawMethod = exchange.getRequestMethod().toString();
    String method = HttpMethods.normalize(rawMethod);
    String path = exchange.getRequestPath();
    Optional<String> route = kind == SpanKind.SERVER ? routes.match(path) : Optional.empty();
    HeaderMap headers = exchange.getRequestHeaders();

    Context parent = propagation.extract(headers);
    String spanMethod = method.equals(HttpMethods.OTHER) ? "HTTP" : method;
    SpanBuilder builder =
        tracer
            .spanBuilder(route.map(r -> spanMethod + " " + r).orElse(spanMethod))
            .setSpanKind(kind)
            .setParent(parent)
            .setAttribute(METHOD, method)
            .setAttribute(PATH, path)
            .setAttribute(SCHEME, exchange.getRequestScheme())
            .setAttribute(PROTOCOL_VERSION, protocolVersion(exchange));
    if (method.equals(HttpMethods.OTHER)) {
      builder.setAttribute(METHOD_ORIGINAL, rawMethod);
    }
    route.ifPresent(r -> builder.setAttribute(ROUTE, r));
    if (kind == SpanKind.SERVER) {
      builder.setAttribute(SERVER_ADDRESS, exchange.getHostName()).setAttribute(SERVER_PORT, (long) exchange.getHostPort());
      String client = clientAddress(exchange);
      if (client != null) {
        builder.setAttribute(CLIENT_ADDRESS, client);
      }
    }
    String userAgent = headers.getFirst(Headers.USER_AGENT);
    if (userAgent != null) {
      builder.setAttribute(USER_AGENT, userAgent);
    }
    Span span = propagation.hop(builder.startSpan(), parent);
    Context context = parent.with(span);
    // Replace whatever trace headers came in: the next hop's parent is this span.
    propagation.inject(context, headers);

    metrics.started();
    exchange.addExchangeCompleteListener(
        (ex, nextListener) -> {
          try {
            finish(ex, outcome, span, context, rawMethod, path, route.orElse(RouteTemplates.UNMATCHED), userAgent);
          } finally {
            nextListener.proceed();
          }
        });
    try (Scope ignored = context.makeCurrent()) {
      next.handleRequest(exchange);
    } catch (Exception | Error e) {
      span.recordException(e);
      throw e;
    }
  }

  private void finish(
      HttpServerExchange exchange,
      ExchangeOutcome outcome,
      Span span,
      Context context,
      String method,
      String path,
      String route,
      String userAgent) {
    long end = System.nanoTime();
    long duration = end - outcome.startNanos();
    int status = exchange.getStatusCode();
    long bytesIn = requestBytes(exchange);
    long bytesOut = exchange.getResponseBytesSent();
    ResponseFlag flag = outcome.flag().orElse(null);
    String target = kind == SpanKind.SERVER ? route : outcome.target().orElse(RouteTemplates.UNMATCHED);

    span.setAttribute(STATUS, (long) status);
    if (bytesIn >= 0) {
      span.setAttribute(REQUEST_SIZE, bytesIn);
    }
    span.setAttribute(RESPONSE_SIZE, bytesOut);
    if (kind == SpanKind.CLIENT) {
      outcome.target().ifPresent(t -> span.setAttribute(SERVER_ADDRESS, t));
    }
    boolean error = status >= 500 || (kind == SpanKind.CLIENT && status >= 400);
    if (flag != null && flag.isUpstreamFailure() || error) {
      span.setAttribute(ERROR_TYPE, flag != null ? flag.errorType() : Integer.toString(status));
      span.setStatus(StatusCode.ERROR);
    }
    try (Scope ignored = context.makeCurrent()) {
      metrics.record(method, status, target, duration, bytesIn, bytesOut);
    } finally {
      metrics.finished();
      span.end();
    }
    if (accessLog.enabled()) {
      SpanContext sc = span.getSpanContext();
      accessLog.log(
          new AccessLog.Entry(
              Instant.now(),
              method,
              path,
              kind == SpanKind.SERVER ? "route" : "upstream",
              target,
              status,
              flag,
              duration / 1e6,
              outcome.upstreamNanos(end) / 1e6,
              bytesIn,
              bytesOut,
              sc.isValid() ? sc.getTraceId() : null,
              sc.isValid() ? sc.getSpanId() : null,
              clientAddress(exchange),
              userAgent));
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
