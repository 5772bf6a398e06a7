package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.rpc.GrpcCall;
import dev.sidecars.runtime.rpc.GrpcStatus;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.AsciiString;

/**
 * Outermost decorator for gRPC clients, which cannot read an HTTP error: every answer the proxy gives a
 * gRPC request itself (any decorator's refusal, the forwarder's 502 and 504, the drain's 503) becomes what
 * a gRPC server would send, an HTTP {@code 200} with no body whose head carries {@code grpc-status} and
 * {@code grpc-message} (a trailers-only response): the app refused or unreachable, the circuit open and
 * the drain are {@code UNAVAILABLE}, a timeout {@code DEADLINE_EXCEEDED}, overload {@code
 * RESOURCE_EXHAUSTED} (see {@link GrpcStatus#forProxyAnswer}). The exchange keeps its flag, so the access
 * log and the span still say why. Answers of the upstream pass as they are.
 */
public final class GrpcAnswers implements ExchangeHandler {
  /** The status of a gRPC call, in its trailers or in the head of a trailers-only answer. */
  public static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
  /** The status's message, percent-encoded. */
  public static final AsciiString GRPC_MESSAGE = AsciiString.cached("grpc-message");
  private static final AsciiString APPLICATION_GRPC = AsciiString.cached("application/grpc");

  private final ExchangeHandler next;

  public GrpcAnswers(ExchangeHandler next) {
    this.next = next;
  }

  @Override
  public void handle(ProxyExchange exchange) {
    if (GrpcCall.isGrpc(exchange.request().headers().get(HttpHeaderNames.CONTENT_TYPE))) {
      exchange.onResponseHead(GrpcAnswers::responseHead);
      exchange.countGrpcMessages(); // so a deadline mid-stream can end it in trailers between two messages
    }
    next.handle(exchange);
  }

  private static void responseHead(ProxyExchange exchange, HttpResponse response) {
    if (exchange.upstreamResponded() || !(response instanceof FullHttpResponse answer)) {
      return;
    }
    int code = GrpcStatus.forProxyAnswer(exchange.flag(), answer.status().code());
    String reason = answer.content().toString(java.nio.charset.StandardCharsets.UTF_8).trim();
    answer.setStatus(HttpResponseStatus.OK);
    answer.content().clear(); // no body: the head ends the stream, as a trailers-only answer does
    HttpHeaders headers = answer.headers();
    headers.set(HttpHeaderNames.CONTENT_TYPE, APPLICATION_GRPC)
        .set(GRPC_STATUS, Integer.toString(code))
        .set(GRPC_MESSAGE, GrpcStatus.encodeMessage("proxy: " + reason));
    if (exchange.isHttp2()) {
      headers.remove(HttpHeaderNames.CONTENT_LENGTH);
    } else {
      headers.setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
    }
  }
}
