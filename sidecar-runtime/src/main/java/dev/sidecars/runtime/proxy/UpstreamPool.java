package dev.sidecars.runtime.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import dev.sidecars.runtime.tls.HandshakeFailureReason;
import dev.sidecars.runtime.tls.TlsPeer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The connections of one event loop to one upstream endpoint: keep-alive HTTP/1.1 connections (one lent per
 * exchange, a new one opened when none is idle, up to the client's limit, beyond which exchanges wait for
 * one to be given back) and h2c connections (streams on the first one with
 * room, another opened when all are at the upstream's stream limit, up to {@link #MAX_HTTP2_CONNECTIONS};
 * beyond that streams wait for room on the least busy). Used on its event loop only, so it takes no lock.
 */
final class UpstreamPool {
  /** h2c connections per event loop and endpoint before streams queue for the upstream's limit. */
  static final int MAX_HTTP2_CONNECTIONS = 4;
  /** After an upstream refused h2c, how long {@code auto} sends it HTTP/1.1 before trying h2c again. */
  static final long H2C_REFUSED_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(60);

  /**
   * The upstream closed an h2c connection before its SETTINGS came: it does not speak HTTP/2 (an HTTP/1.1
   * server answers the preface with an error). Nothing was sent on a stream, so the exchange may go on over
   * HTTP/1.1.
   */
  static final class H2cRefused extends java.io.IOException {
    private static final long serialVersionUID = 1L;

    H2cRefused(String endpoint) {
      super(endpoint + " does not speak h2c (closed before its SETTINGS)");
    }
  }

  /**
   * The TLS handshake with the upstream failed (counted already): nothing was sent; the connection is closed
   * and never pooled.
   */
  static final class TlsFailed extends java.io.IOException {
    private static final long serialVersionUID = 1L;
    private final transient HandshakeFailureReason reason;

    TlsFailed(String endpoint, Throwable cause) {
      super("TLS handshake with " + endpoint + " failed", cause);
      this.reason = HandshakeFailureReason.classify(cause, true);
    }

    HandshakeFailureReason reason() {
      return reason;
    }
  }

  /** What waits for an upstream stream. */
  interface Waiter {
    void ready(UpstreamStream stream);

    void failed(Throwable cause);
  }

  private final Endpoint endpoint;
  private final EventLoop loop;
  private final UpstreamClient client;
  private final ArrayDeque<Http1Upstream> idle = new ArrayDeque<>();
  /** HTTP/1.1 connections open or being opened, lent or idle. */
  private int http1Connections;
  /** Exchanges waiting for an HTTP/1.1 connection while {@link UpstreamClient#maxHttp1Connections()} are open. */
  private ArrayDeque<Waiter> waitingForHttp1;
  private final List<Http2Upstream> http2 = new ArrayList<>(2);
  private List<Waiter> waitingForHttp2;
  private long h2cRefusedAt;
  /** TLS offering both protocols: what the last handshake chose ({@code null} before one), which new streams follow. */
  private Boolean serverChoseHttp2;
  private boolean retired;

  UpstreamPool(Endpoint endpoint, EventLoop loop, UpstreamClient client) {
    this.endpoint = endpoint;
    this.loop = loop;
    this.client = client;
  }

  /**
   * @param fallBack whether the protocol may change: an upstream known not to speak h2c gets HTTP/1.1 instead,
   *     and over TLS offering both, the server's ALPN choice decides ({@code auto}); without it, {@code h2}
   *     says the protocol (a WebSocket upgrade must stay HTTP/1.1)
   */
  void acquire(boolean h2, boolean fallBack, Waiter waiter) {
    if (fallBack && serverChoseHttp2 != null) {
      h2 = serverChoseHttp2; // the translation HTTP1 and H2C do either way
    }
    if (h2 && fallBack && h2cRefusedAt != 0 && System.nanoTime() - h2cRefusedAt < H2C_REFUSED_NANOS) {
      acquireHttp1(waiter, false);
    } else if (h2) {
      acquireHttp2(waiter);
    } else {
      acquireHttp1(waiter, !fallBack);
    }
  }

  /** @param exact HTTP/1.1 however the server would choose: a new TLS connection offers only {@code http/1.1} */
  private void acquireHttp1(Waiter waiter, boolean exact) {
    long now = System.nanoTime();
    for (Http1Upstream c; (c = idle.pollLast()) != null; ) {
      if (c.channel().isActive() && now - c.idleSince < client.idleNanos()) {
        c.lent();
        waiter.ready(c);
        return;
      }
      c.channel().close(); // idle too long: the upstream may be closing it just now
    }
    if (http1Connections >= client.maxHttp1Connections()) {
      if (waitingForHttp1 == null) {
        waitingForHttp1 = new ArrayDeque<>();
      }
      waitingForHttp1.add(waiter); // the next connection given back is its; the exchange's timeout bounds the wait
      return;
    }
    http1Connections++;
    connect(false, exact).addListener((Future<Channel> f) -> {
      if (f.isSuccess() && speaksHttp2(f.getNow())) {
        http1Connections--; // the server chose h2 by ALPN: this connection becomes an HTTP/2 one
        adoptHttp2(f.getNow(), List.of(waiter));
        nextWaitingForHttp1();
      } else if (f.isSuccess()) {
        Http1Upstream c = new Http1Upstream(f.getNow(), this);
        c.lent();
        waiter.ready(c);
      } else {
        http1Connections--;
        waiter.failed(f.cause());
        nextWaitingForHttp1();
      }
    });
  }

  void release(Http1Upstream connection) {
    if (retired) {
      connection.channel().close();
      return;
    }
    Waiter next = waitingForHttp1 == null ? null : waitingForHttp1.poll();
    if (next != null && connection.channel().isActive()) {
      connection.lent();
      next.ready(connection);
      return;
    }
    if (next != null) {
      waitingForHttp1.addFirst(next);
    }
    connection.idleSince = System.nanoTime();
    idle.addLast(connection);
  }

  /** A connection closed or failed to open: one waiting exchange may open another. */
  private void nextWaitingForHttp1() {
    Waiter next = waitingForHttp1 == null ? null : waitingForHttp1.poll();
    if (next != null) {
      acquireHttp1(next, true); // it waited for HTTP/1.1, perhaps an upgrade: it stays HTTP/1.1
    }
  }

  /**
   * No exchange will come here again: idle connections close now, lent ones when their exchange ends, h2c
   * ones once their streams have ended (GOAWAY).
   */
  void retire() {
    retired = true;
    for (Http1Upstream c; (c = idle.pollLast()) != null; ) {
      c.channel().close();
    }
    Waiter waiting;
    while (waitingForHttp1 != null && (waiting = waitingForHttp1.poll()) != null) {
      waiting.failed(new java.io.IOException(endpoint.authority() + " is no longer an upstream"));
    }
    new ArrayList<>(http2).forEach(Http2Upstream::close);
  }

  void closed(Http1Upstream connection) {
    idle.remove(connection);
    http1Connections--;
    nextWaitingForHttp1();
  }

  void closed(Http2Upstream connection) {
    http2.remove(connection);
  }

  private void acquireHttp2(Waiter waiter) {
    Http2Upstream best = null;
    for (int i = 0; i < http2.size(); i++) {
      Http2Upstream c = http2.get(i);
      if (!c.usable()) {
        continue;
      }
      if (c.hasRoom()) {
        openStream(c, waiter);
        return;
      }
      if (best == null || c.activeStreams() < best.activeStreams()) {
        best = c;
      }
    }
    if (waitingForHttp2 != null) {
      waitingForHttp2.add(waiter); // a connection is on its way
      return;
    }
    if (best != null && http2.size() >= MAX_HTTP2_CONNECTIONS) {
      openStream(best, waiter); // waits in the connection for the upstream's limit
      return;
    }
    waitingForHttp2 = new ArrayList<>(2);
    waitingForHttp2.add(waiter);
    connect(true, false).addListener((Future<Channel> f) -> {
      if (!f.isSuccess()) {
        List<Waiter> waiting = waitingForHttp2;
        waitingForHttp2 = null;
        waiting.forEach(w -> w.failed(f.cause()));
        return;
      }
      if (!speaksHttp2(f.getNow())) {
        // The server chose http/1.1 by ALPN: the first exchange gets this connection, the others their own.
        List<Waiter> waiting = waitingForHttp2;
        waitingForHttp2 = null;
        http1Connections++;
        Http1Upstream c = new Http1Upstream(f.getNow(), this);
        c.lent();
        waiting.get(0).ready(c);
        waiting.subList(1, waiting.size()).forEach(w -> acquireHttp1(w, false));
        return;
      }
      adoptHttp2(f.getNow(), null);
    });
  }

  /**
   * Streams open once the upstream's SETTINGS came: then it speaks HTTP/2, and its limits are known.
   *
   * @param given the exchanges that get streams on it; {@code null}: those waiting for an HTTP/2 connection
   */
  private void adoptHttp2(Channel channel, List<Waiter> given) {
    Http2Upstream c = new Http2Upstream(channel, this);
    c.start(ready -> {
      List<Waiter> waiting = given;
      if (waiting == null) {
        waiting = waitingForHttp2;
        waitingForHttp2 = null;
      }
      if (ready) {
        h2cRefusedAt = 0;
        http2.add(c);
        waiting.forEach(w -> openStream(c, w));
      } else {
        h2cRefusedAt = System.nanoTime();
        H2cRefused refused = new H2cRefused(endpoint.authority());
        waiting.forEach(w -> w.failed(refused));
      }
    });
  }

  private void openStream(Http2Upstream connection, Waiter waiter) {
    Http2Upstream.Stream stream = new Http2Upstream.Stream();
    connection.openStream(stream).addListener((Future<Http2StreamChannel> f) -> {
      if (f.isSuccess()) {
        waiter.ready(stream);
      } else {
        waiter.failed(f.cause());
      }
    });
  }

  /**
   * A new connection, ready for HTTP: with TLS once the handshake succeeded (ALPN deciding the protocol when
   * both were offered, unless {@code http1Only}), else once connected.
   */
  private Future<Channel> connect(boolean h2, boolean http1Only) {
    Promise<Channel> ready = loop.newPromise();
    Endpoint.Tls tls = endpoint.tls() != null && http1Only ? endpoint.tls().http1Only() : endpoint.tls();
    ChannelFuture connected = new Bootstrap()
        .group(loop)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.ALLOCATOR, client.allocator())
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, client.connectTimeoutMillis())
        .resolver(client.resolvers())
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            if (tls == null) {
              addHttpHandlers(ch, h2);
              return;
            }
            tls.client().initChannel(ch, tls.destination()).addListener((Future<Channel> handshake) -> {
              if (!handshake.isSuccess()) {
                ready.tryFailure(new TlsFailed(endpoint.authority(), handshake.cause()));
                return;
              }
              boolean http2 = tls.http2(TlsPeer.of(ch).map(TlsPeer::applicationProtocol).orElse(null));
              if (tls.serverChooses()) {
                serverChoseHttp2 = http2;
              }
              addHttpHandlers(ch, http2);
              ready.trySuccess(ch);
            });
          }
        })
        .connect(endpoint.address());
    connected.addListener((ChannelFuture f) -> {
      if (!f.isSuccess()) {
        ready.tryFailure(f.cause());
      } else if (tls == null) {
        ready.trySuccess(f.channel());
      }
    });
    return ready;
  }

  private static void addHttpHandlers(Channel ch, boolean h2) {
    if (h2) {
      Http2Upstream.initPipeline(ch);
    } else {
      ch.pipeline().addLast("http1-codec", new HttpClientCodec(new HttpDecoderConfig()
          .setMaxInitialLineLength(UpstreamClient.MAX_RESPONSE_HEAD_BYTES)
          .setMaxHeaderSize(UpstreamClient.MAX_RESPONSE_HEAD_BYTES)
          .setMaxChunkSize(64 * 1024), false, false));
    }
  }

  private static boolean speaksHttp2(Channel ch) {
    return ch.pipeline().get("http1-codec") == null;
  }
}
