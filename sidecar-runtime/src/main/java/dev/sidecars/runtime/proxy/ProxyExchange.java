package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.tls.TlsPeer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * One request and its response as the proxy's decorators see it, the same for an HTTP/1.1 exchange and
 * an HTTP/2 stream: the request head (mutable until it is forwarded), where it came from, what the proxy
 * and the upstream made of it, and hooks to watch the response and the end of the exchange.
 *
 * <p>Everything runs on the exchange's {@link #eventLoop()}: decorators must not block, and must not call
 * these methods from other threads (schedule on the event loop instead).
 */
public interface ProxyExchange {
  /** The request head. Headers, method and URI may be changed until the request is forwarded. */
  HttpRequest request();

  /** {@code 1.0}, {@code 1.1} or {@code 2}, as {@code network.protocol.version} says it. */
  String protocolVersion();

  /** Whether the request came as an HTTP/2 stream. */
  boolean isHttp2();

  /** {@code http}, or {@code https} once TLS is there. */
  String scheme();

  /**
   * What the client connection's TLS handshake established (the client's verified certificate, if it sent
   * one); empty for cleartext.
   */
  default Optional<TlsPeer> tls() {
    return Optional.empty();
  }

  /**
   * What the upstream connection's TLS handshake established (the server's verified certificate), once the
   * exchange has an upstream connection that speaks TLS; empty before, and for cleartext upstreams.
   */
  default Optional<TlsPeer> upstreamTls() {
    return Optional.empty();
  }

  /** The peer of the client connection. */
  InetSocketAddress clientAddress();

  /** The proxy's own address on the client connection. */
  InetSocketAddress localAddress();

  /** The thread the exchange runs on; its upstream connection runs on the same one. */
  EventLoop eventLoop();

  /** When the request head arrived ({@link System#nanoTime()}). */
  long startNanos();

  /** Bytes of request body read from the client so far. */
  long requestBodyBytes();

  /** Bytes of response body sent to the client so far. */
  long responseBodyBytes();

  /** Starts counting the gRPC messages of the bodies both ways; call before the body flows (from a handler). */
  void countGrpcMessages();

  /** gRPC messages the client has sent so far, or -1 when they are not counted. */
  long grpcMessagesIn();

  /** gRPC messages sent to the client so far, or -1 when they are not counted. */
  long grpcMessagesOut();

  /** Whether the whole request (its last content) has arrived. */
  boolean requestComplete();

  /**
   * How long the proxy has been waiting for the client's next request bytes at {@code nowNanos}: 0 when it
   * is not waiting for the client (the request is complete, or reading is paused because the upstream is
   * not ready or not taking more).
   */
  long requestBodyWaitNanos(long nowNanos);

  /** Whether the response head was sent (so the status can no longer change). */
  boolean responseStarted();

  /** The status of the response sent or about to be sent, 0 before there is one. */
  int status();

  /** The headers of the response head once it was sent (a trailers-only gRPC answer's status is there), else {@code null}. */
  HttpHeaders responseHeaders();

  /** The response's trailers once they have passed, else {@code null}. */
  HttpHeaders responseTrailers();

  /** Whether the exchange is over (its completion listeners ran or are running). */
  boolean isComplete();

  // --- what the proxy learned (the access log's flags, the span's error.type) ---

  /** Records why the proxy answered by itself; the first flag wins, as it is the cause. */
  void flag(ResponseFlag flag);

  /** Records why the proxy answered by itself, replacing an earlier reason (a proxy that retries). */
  void replaceFlag(ResponseFlag flag);

  /** The flag, or {@code null} when the upstream answered. */
  ResponseFlag flag();

  /** Marks the moment an upstream connection or stream was ready. */
  void upstreamStarted(long nanos);

  /** Nanoseconds from the upstream start to {@code endNanos}, or -1 when there was none. */
  long upstreamNanos(long endNanos);

  /** Whether the upstream sent a response head (so the status is the upstream's). */
  boolean upstreamResponded();

  /** Sets the upstream an egress proxy picked, for its {@code server.address} label. */
  void target(String address);

  /** The upstream an egress proxy picked, or {@code null}. */
  String target();

  // --- hooks ---

  /**
   * Called with each response head (the upstream's or the proxy's own) just before it is sent; it may
   * change the status and headers. Informational (1xx) heads are not shown. Listeners added later run
   * first, so an inner decorator sees the head before an outer one.
   */
  void onResponseHead(ResponseHeadListener listener);

  /** Called for each piece of request body as it arrives, before it is forwarded. */
  void onRequestBody(RequestBodyListener listener);

  /** Called once when the exchange is over, however it ended. Listeners added later run first. */
  void onComplete(Runnable listener);

  // --- answers of the proxy's own ---

  /**
   * Answers the request with {@code status} and a short plain-text {@code reason}, instead of the upstream.
   * {@code headers} (may be {@code null}) are added to the answer. Only before the response started.
   */
  void respond(int status, String reason, HttpHeaders headers);

  /**
   * The proxy's own failure while the exchange runs (a body too large, a timeout): records {@code flag},
   * cuts the upstream mid-request so it never takes a partial body for a whole one, and answers {@code
   * status} with {@code Connection: close} if the response has not started, else cuts the client's
   * connection (HTTP/1.1) or resets its stream (HTTP/2).
   */
  void fail(ResponseFlag flag, int status, String reason);

  /**
   * Refuses the request as not processed: HTTP/2 resets the stream with REFUSED_STREAM, which tells the
   * client it may send the request again, elsewhere (gRPC clients do it transparently); HTTP/1.1 answers
   * {@code 503} with {@code reason} and {@code Connection: close}. Only before the response started.
   */
  void refuseStream(String reason);

  /** HTTP/1.1: the connection closes after this exchange ({@code Connection: close}); HTTP/2: nothing. */
  void closeConnection();

  /** Sees each response head before it leaves. */
  @FunctionalInterface
  interface ResponseHeadListener {
    void onResponseHead(ProxyExchange exchange, HttpResponse response);
  }

  /** Sees each piece of request body before it is forwarded; {@code last} with the trailers. */
  @FunctionalInterface
  interface RequestBodyListener {
    void onRequestBody(ProxyExchange exchange, int bytes, boolean last);
  }
}
