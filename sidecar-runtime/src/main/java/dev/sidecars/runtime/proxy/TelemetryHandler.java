package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.HttpTelemetry;
import dev.sidecars.runtime.rpc.GrpcCall;
import dev.sidecars.runtime.rpc.GrpcStatus;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.net.InetSocketAddress;

/**
 * Outermost decorator (so it also sees what inner ones refuse): one span, one set of metrics and one
 * access-log line per exchange through {@link HttpTelemetry}, the same for HTTP/1.1 and HTTP/2
 * ({@code network.protocol.version} says which). The span continues the context the request carries and
 * replaces its trace headers, so the next hop continues this span. A gRPC request is recorded as a call
 * ({@link GrpcCall}), with the {@code grpc-status} of its trailers, or of its head when the answer was
 * trailers-only.
 */
public final class TelemetryHandler implements ExchangeHandler {
  private final ExchangeHandler next;
  private final HttpTelemetry telemetry;

  public TelemetryHandler(ExchangeHandler next, HttpTelemetry telemetry) {
    this.next = next;
    this.telemetry = telemetry;
  }

  @Override
  public void handle(ProxyExchange exchange) {
    HttpRequest request = exchange.request();
    HttpHeaders headers = request.headers();
    Context parent = telemetry.propagation().extract(headers);
    String host = headers.get(HttpHeaderNames.HOST);
    InetSocketAddress local = exchange.localAddress();
    InetSocketAddress client = exchange.clientAddress();
    String path = path(request.uri());
    GrpcCall rpc = GrpcCall.of(headers.get(HttpHeaderNames.CONTENT_TYPE), path);
    HttpTelemetry.Recording recording = telemetry.start(
        new HttpTelemetry.Request(
            request.method().name(),
            path,
            exchange.scheme(),
            exchange.protocolVersion(),
            host == null ? local.getAddress().getHostAddress() : HostHeader.name(host),
            host == null ? local.getPort() : HostHeader.port(host, local.getPort()),
            client == null || client.getAddress() == null ? null : client.getAddress().getHostAddress(),
            headers.get(HttpHeaderNames.USER_AGENT)),
        rpc,
        parent,
        exchange.startNanos());
    exchange.tls().ifPresent(recording::tls);
    // Replace whatever trace headers came in: the next hop's parent is this span.
    telemetry.propagation().inject(recording.context(), headers);
    long declared = HttpUtil.getContentLength(request, -1L);
    if (rpc != null) {
      exchange.countGrpcMessages();
    }
    exchange.onComplete(() -> {
      long end = System.nanoTime();
      exchange.upstreamTls().ifPresent(recording::tls); // an egress proxy's client span: the server it reached
      if (rpc != null) {
        recording.messages(exchange.grpcMessagesIn(), exchange.grpcMessagesOut());
      }
      long bytesIn = exchange.requestComplete() ? exchange.requestBodyBytes() : declared;
      recording.finish(exchange.status(), exchange.flag(), exchange.target(), bytesIn, exchange.responseBodyBytes(),
          end, exchange.upstreamNanos(end), rpc == null ? -1 : grpcStatus(exchange));
    });
    try (Scope ignored = recording.context().makeCurrent()) {
      next.handle(exchange);
    } catch (RuntimeException | Error e) {
      recording.recordException(e);
      throw e;
    }
  }

  /** The {@code grpc-status} the client got: in the trailers, or in the head of a trailers-only answer; -1 if none. */
  private static int grpcStatus(ProxyExchange exchange) {
    HttpHeaders trailers = exchange.responseTrailers();
    int code = trailers == null ? -1 : GrpcStatus.parse(trailers.get(GrpcAnswers.GRPC_STATUS));
    if (code < 0 && exchange.responseHeaders() != null) {
      code = GrpcStatus.parse(exchange.responseHeaders().get(GrpcAnswers.GRPC_STATUS));
    }
    return code;
  }

  /** The path of a request target as sent (origin form, or the path of an absolute form), without the query. */
  public static String path(String uri) {
    int start = 0;
    if (!uri.startsWith("/")) {
      int scheme = uri.indexOf("://");
      if (scheme < 0) {
        return uri; // authority form (CONNECT) or *
      }
      start = uri.indexOf('/', scheme + 3);
      if (start < 0) {
        return "/";
      }
    }
    int query = uri.indexOf('?', start);
    return query < 0 ? (start == 0 ? uri : uri.substring(start)) : uri.substring(start, query);
  }
}
