package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.tls.TlsPeer;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The end of a proxy's handler chain: sends the exchange to the upstream its {@link Router} picks, over a
 * pooled connection or stream of the {@link UpstreamClient}, and relays the answer. It adds what a
 * transparent hop adds ({@code X-Forwarded-*}, a {@code Host} for HTTP/1.0 requests without one) and
 * bounds the whole exchange by the upstream timeout (504 before the answer started, the client's side cut
 * after). The upstream refusing or failing to answer is answered 502 and flagged for the decorators; so is
 * its name not resolving ({@code DNS_RESOLUTION_FAILED}, not {@code UPSTREAM_REFUSED}).
 * It never retries by itself: a {@link Router} that may (an egress proxy) says so in {@link Router#retry}, and
 * is asked only where sending again is safe (nothing was sent, or the request is a bodiless one of an
 * idempotent method) and the client has seen nothing of an answer.
 */
public final class Forwarder implements ExchangeHandler {
  /** Where one exchange goes. */
  public record Destination(Endpoint endpoint, UpstreamProtocol protocol) {}

  /** Why an attempt ended before the client saw any of its answer. */
  public enum Failure {
    /**
     * No connection or stream could be had (the upstream's name not resolving included): nothing of the
     * request was sent.
     */
    REFUSED,
    /**
     * The connection or stream broke before the response head. Offered for a bodiless request of an
     * idempotent method only: it may have reached the upstream.
     */
    RESET,
    /** The upstream answered 503; offered for a bodiless request of an idempotent method only. Its answer is dropped. */
    UNAVAILABLE
  }

  /** Picks the destination of an exchange; {@code null} when it answered the exchange itself. */
  @FunctionalInterface
  public interface Router {
    Destination route(ProxyExchange exchange);

    /**
     * The attempt to the last destination failed before the client saw any answer. Return {@code false} to
     * let the failure stand (502, or the upstream's 503); or {@code true} and later call {@code again} on
     * the exchange's event loop with the next destination ({@code null}: the failure stands after all).
     * Not called once the exchange was answered (its timeout, say). By default: no retry.
     */
    default boolean retry(ProxyExchange exchange, Failure failure, Consumer<Destination> again) {
      return false;
    }
  }

  private static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
  private static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
  private static final AsciiString X_FORWARDED_HOST = AsciiString.cached("x-forwarded-host");
  private static final AsciiString X_FORWARDED_PORT = AsciiString.cached("x-forwarded-port");
  private static final AsciiString X_FORWARDED_SERVER = AsciiString.cached("x-forwarded-server");

  private final UpstreamClient client;
  private final Router router;
  private final long timeoutNanos;

  /** @param upstreamTimeout the longest a whole exchange may take; zero: no limit */
  public Forwarder(UpstreamClient client, Router router, Duration upstreamTimeout) {
    this.client = client;
    this.router = router;
    this.timeoutNanos = upstreamTimeout.toNanos();
  }

  /** A router to one endpoint. */
  public static Router to(Endpoint endpoint, UpstreamProtocol protocol) {
    Destination destination = new Destination(endpoint, protocol);
    return exchange -> destination;
  }

  @Override
  public void handle(ProxyExchange proxyExchange) {
    if (!(proxyExchange instanceof ServerExchange exchange)) {
      throw new IllegalArgumentException("not an exchange of a ProxyServer: " + proxyExchange);
    }
    HttpRequest request = exchange.request();
    int refused = RequestProblems.status(request);
    if (refused != 0) {
      exchange.flag(ResponseFlag.BAD_REQUEST);
      exchange.respond(refused, RequestProblems.reason(request), null);
      return;
    }
    Destination destination = router.route(exchange);
    if (destination == null || exchange.isComplete()) {
      return;
    }
    HttpHeaders headers = request.headers();
    boolean upgrade = !exchange.isHttp2() && headers.contains(HttpHeaderNames.UPGRADE);
    if (!headers.contains(HttpHeaderNames.HOST)) {
      // HTTP/1.0 may come without Host; what goes out is HTTP/1.1, which requires one.
      headers.set(HttpHeaderNames.HOST, destination.endpoint().authority());
    }
    request.setProtocolVersion(HttpVersion.HTTP_1_1);
    forwardedHeaders(exchange, headers);
    Attempt attempt = new Attempt(exchange, client, router, upgrade);
    if (timeoutNanos > 0) {
      attempt.timer = exchange.eventLoop().schedule(attempt::timedOut, timeoutNanos, TimeUnit.NANOSECONDS);
    }
    attempt.start(destination);
  }

  /** {@code X-Forwarded-For} appended to; {@code -Proto}, {@code -Host}, {@code -Port}, {@code -Server} kept when present. */
  private static void forwardedHeaders(ServerExchange exchange, HttpHeaders headers) {
    InetSocketAddress client = exchange.clientAddress();
    if (client != null && client.getAddress() != null) {
      String address = client.getAddress().getHostAddress();
      String before = headers.get(X_FORWARDED_FOR);
      headers.set(X_FORWARDED_FOR, before == null ? address : before + "," + address);
    }
    if (!headers.contains(X_FORWARDED_PROTO)) {
      headers.set(X_FORWARDED_PROTO, exchange.scheme());
    }
    String host = headers.get(HttpHeaderNames.HOST);
    String hostName = HostHeader.name(host);
    String port = Integer.toString(HostHeader.port(host, exchange.localAddress().getPort()));
    if (!headers.contains(X_FORWARDED_HOST)) {
      headers.set(X_FORWARDED_HOST, hostName);
    }
    if (!headers.contains(X_FORWARDED_PORT)) {
      headers.set(X_FORWARDED_PORT, port);
    }
    if (!headers.contains(X_FORWARDED_SERVER)) {
      headers.set(X_FORWARDED_SERVER, hostName);
    }
  }

  /** One exchange waiting for, then bound to, its upstream stream; again after a failure its router retries. */
  private static final class Attempt implements UpstreamPool.Waiter, Relay.Retrier {
    private final ServerExchange exchange;
    private final UpstreamClient client;
    private final Router router;
    private final boolean upgrade;
    private Endpoint endpoint;
    private boolean fallBack;
    private boolean bodyGone;
    private ScheduledFuture<?> timer;
    private Relay relay;
    private boolean timedOut;
    /** Why the last connect failed: the answer says whether the name did not resolve. */
    private Throwable refusal;

    Attempt(ServerExchange exchange, UpstreamClient client, Router router, boolean upgrade) {
      this.exchange = exchange;
      this.client = client;
      this.router = router;
      this.upgrade = upgrade;
    }

    void start(Destination destination) {
      endpoint = destination.endpoint();
      // An upgrade turns the connection into a tunnel: it goes as HTTP/1.1, whatever the server would prefer.
      fallBack = destination.protocol() == UpstreamProtocol.AUTO && !upgrade;
      boolean http2 = destination.protocol().http2(exchange.isHttp2(), upgrade);
      client.acquire(endpoint, http2, fallBack, exchange.eventLoop(), this);
    }

    @Override
    public void ready(UpstreamStream up) {
      if (timedOut || exchange.isComplete()) {
        up.unused();
        return;
      }
      exchange.upstreamStarted(System.nanoTime());
      exchange.upstreamTls(TlsPeer.of(up.channel()).orElse(null)); // a retry's stream may be another endpoint's
      relay = new Relay(exchange, up);
      relay.timeout(timer);
      relay.retrier(this);
      up.bind(relay);
      up.write(exchange.request(), false);
      up.headWritten();
      if (bodyGone) {
        // A retry of a bodiless request: its end went to the attempt before.
        relay.requestContent(new DefaultLastHttpContent());
      }
      exchange.forwardTo(relay);
      up.flush(); // the head goes now, before any body: a call may start without one
    }

    @Override
    public void failed(Throwable cause) {
      if (cause instanceof UpstreamPool.H2cRefused && fallBack && !timedOut && !exchange.isComplete()) {
        // TARGET_PROTOCOL=auto and an app that speaks HTTP/1.1 only: nothing was sent, so it goes as HTTP/1.1.
        client.acquire(endpoint, false, false, exchange.eventLoop(), this);
        return;
      }
      if (timedOut || exchange.isComplete()) {
        return;
      }
      refusal = cause;
      if (router.retry(exchange, Failure.REFUSED, next -> again(Failure.REFUSED, next))) {
        return;
      }
      refused();
    }

    private void refused() {
      if (timer != null) {
        timer.cancel(false);
      }
      if (refusal instanceof UnknownHostException) { // the resolver's answer: no connection was tried
        exchange.flag(ResponseFlag.DNS_RESOLUTION_FAILED);
        exchange.respond(502, "upstream's name did not resolve: " + refusal.getMessage(), null);
        return;
      }
      // Envoy flags a failed upstream TLS handshake UF too, and says why in the transport failure reason.
      exchange.flag(ResponseFlag.UPSTREAM_REFUSED);
      exchange.respond(502, refusal instanceof UpstreamPool.TlsFailed tls
          ? "upstream TLS handshake failed (" + tls.reason().label() + ")" : "upstream refused the connection", null);
    }

    /** From the relay: its upstream reset, or answered 503, before the client saw anything. */
    @Override
    public boolean retry(Failure failure) {
      if (timedOut || exchange.isComplete() || !exchange.requestComplete() || exchange.requestBodyBytes() > 0
          || !IDEMPOTENT.contains(exchange.request().method())) {
        return false;
      }
      if (!router.retry(exchange, failure, next -> again(failure, next))) {
        return false;
      }
      relay = null;
      bodyGone = true;
      return true;
    }

    private void again(Failure failure, Destination next) {
      if (timedOut || exchange.isComplete()) {
        return;
      }
      if (next != null) {
        start(next);
        return;
      }
      if (failure == Failure.REFUSED) {
        refused();
        return;
      }
      if (timer != null) {
        timer.cancel(false);
      }
      exchange.flag(ResponseFlag.UPSTREAM_RESET); // the 503 it answered was dropped with its connection
      exchange.respond(502, "upstream reset before answering", null);
    }

    void timedOut() {
      if (relay != null) {
        relay.timedOut();
        return;
      }
      timedOut = true;
      if (!exchange.isComplete()) {
        exchange.flag(ResponseFlag.UPSTREAM_TIMEOUT);
        exchange.respond(504, "upstream timed out", null);
      }
    }
  }

  /** Methods whose request may reach an upstream twice (RFC 9110, 9.2.2). */
  private static final Set<HttpMethod> IDEMPOTENT = Set.of(
      HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS, HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);
}
