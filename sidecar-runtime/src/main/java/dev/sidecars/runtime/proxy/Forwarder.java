package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.ResponseFlag;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The end of a proxy's handler chain: sends the exchange to the upstream its {@link Router} picks, over a
 * pooled connection or stream of the {@link UpstreamClient}, and relays the answer. It adds what a
 * transparent hop adds ({@code X-Forwarded-*}, a {@code Host} for HTTP/1.0 requests without one) and
 * bounds the whole exchange by the upstream timeout (504 before the answer started, the client's side cut
 * after). The upstream refusing or failing to answer is answered 502 and flagged for the decorators.
 * It never retries: a decorator that may (an egress proxy) does it around its own router.
 */
public final class Forwarder implements ExchangeHandler {
  /** Where one exchange goes. */
  public record Destination(Endpoint endpoint, UpstreamProtocol protocol) {}

  /** Picks the destination of an exchange; {@code null} when it answered the exchange itself. */
  @FunctionalInterface
  public interface Router {
    Destination route(ProxyExchange exchange);
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
    boolean http2 = destination.protocol().http2(exchange.isHttp2(), upgrade);
    if (!headers.contains(HttpHeaderNames.HOST)) {
      // HTTP/1.0 may come without Host; what goes out is HTTP/1.1, which requires one.
      headers.set(HttpHeaderNames.HOST, destination.endpoint().authority());
    }
    request.setProtocolVersion(HttpVersion.HTTP_1_1);
    forwardedHeaders(exchange, headers);
    boolean fallBack = destination.protocol() == UpstreamProtocol.AUTO;
    Attempt attempt = new Attempt(exchange, client, destination.endpoint(), fallBack);
    if (timeoutNanos > 0) {
      attempt.timer = exchange.eventLoop().schedule(attempt::timedOut, timeoutNanos, TimeUnit.NANOSECONDS);
    }
    client.acquire(destination.endpoint(), http2, fallBack, exchange.eventLoop(), attempt);
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

  /** One exchange waiting for, then bound to, its upstream stream. */
  private static final class Attempt implements UpstreamPool.Waiter {
    private final ServerExchange exchange;
    private final UpstreamClient client;
    private final Endpoint endpoint;
    private final boolean fallBack;
    private ScheduledFuture<?> timer;
    private Relay relay;
    private boolean timedOut;

    Attempt(ServerExchange exchange, UpstreamClient client, Endpoint endpoint, boolean fallBack) {
      this.exchange = exchange;
      this.client = client;
      this.endpoint = endpoint;
      this.fallBack = fallBack;
    }

    @Override
    public void ready(UpstreamStream up) {
      if (timedOut || exchange.isComplete()) {
        up.unused();
        return;
      }
      exchange.upstreamStarted(System.nanoTime());
      relay = new Relay(exchange, up);
      relay.timeout(timer);
      up.bind(relay);
      up.write(exchange.request(), false);
      up.headWritten();
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
      if (timer != null) {
        timer.cancel(false);
      }
      if (timedOut || exchange.isComplete()) {
        return;
      }
      exchange.flag(ResponseFlag.UPSTREAM_REFUSED);
      exchange.respond(502, "upstream refused the connection", null);
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
}
