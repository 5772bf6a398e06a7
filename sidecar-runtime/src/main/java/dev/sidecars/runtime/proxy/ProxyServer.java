package dev.sidecars.runtime.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import dev.sidecars.runtime.tls.ServerTls;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A proxy's listener: one port serving HTTP/1.1, HTTP/2 with prior knowledge (what gRPC clients send to an
 * {@code http://} address) and HTTP/1.1 upgraded with {@code Upgrade: h2c}. Each HTTP/1.1 exchange and each
 * HTTP/2 stream becomes a {@link ProxyExchange} of the same shape, handed to {@code root} on the
 * connection's event loop. Connections are served by {@link ProxyEventLoops}, which the upstream client
 * shares, so an exchange never changes threads.
 *
 * <p>A connection's pipeline: {@link ConnectionTimer}, then what {@link ServerTls} installs for {@code
 * TLS_MODE} (an {@code SslHandler} whose ALPN result picks HTTP/2 or HTTP/1.1; in permissive mode a
 * detector first; with TLS off a detector refusing ClientHellos), then for cleartext Netty's {@code
 * CleartextHttp2ServerUpgradeHandler}. Either way a connection ends with {@code HttpServerCodec} + the
 * exchange handler (HTTP/1.1), or {@code Http2FrameCodec} + {@link StreamWatcher} + {@code
 * Http2MultiplexHandler}, whose stream channels each get {@code Http2StreamFrameToHttpObjectCodec} + the
 * same exchange handler (HTTP/2): over TLS and in cleartext the same handlers serve.
 */
public final class ProxyServer implements AutoCloseable {
  /**
   * What a listener is given.
   *
   * @param maxHeaderBytes the largest request line plus headers the decoder reads (HTTP/1.1), and the
   *     SETTINGS_MAX_HEADER_LIST_SIZE announced (HTTP/2); a decorator may refuse smaller ones
   * @param requestHeaderTimeout how long an HTTP/1.1 request's head may take to arrive
   * @param idleTimeout how long a connection may stay without an exchange (a stream) before it is closed
   */
  public record Settings(
      String bindAddress,
      int port,
      int maxHeaderBytes,
      Duration requestHeaderTimeout,
      Duration idleTimeout) {}

  /** Streams a client may open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  public static final int MAX_CONCURRENT_STREAMS = 1000;
  /**
   * The flow-control window of each stream and of the connection: what a client may send before the proxy
   * has passed it on, so also the memory one connection's uploads can take.
   */
  public static final int INITIAL_WINDOW_BYTES = 1024 * 1024;
  /** The largest frame a client may send (SETTINGS_MAX_FRAME_SIZE; the protocol's default). */
  public static final int MAX_FRAME_BYTES = Http2CodecUtil.DEFAULT_MAX_FRAME_SIZE;
  /** An {@code Upgrade: h2c} request is read whole before the switch: its body may be this large at most. */
  static final int MAX_UPGRADE_BODY_BYTES = 64 * 1024;
  private static final AsciiString H2C = AsciiString.cached("h2c");
  private static final String EXCHANGES = "exchanges";

  private final Settings settings;
  private final ExchangeHandler root;
  private final ProxyEventLoops loops;
  private final ServerTls tls;
  private final Channel listener;
  private final ChannelGroup connections = new DefaultChannelGroup("proxy-connections", GlobalEventExecutor.INSTANCE);
  private final ChannelGroup http2Connections = new DefaultChannelGroup("proxy-h2-connections", GlobalEventExecutor.INSTANCE);

  private ProxyServer(Settings settings, ExchangeHandler root, ProxyEventLoops loops, ServerTls tls)
      throws InterruptedException {
    this.settings = settings;
    this.root = root;
    this.loops = loops;
    this.tls = tls;
    this.listener = new ServerBootstrap()
        .group(loops.group())
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.ALLOCATOR, loops.allocator())
        .childOption(ChannelOption.ALLOCATOR, loops.allocator())
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connections.add(ch);
            initConnection(ch);
          }
        })
        .bind(settings.bindAddress(), settings.port())
        .sync()
        .channel();
  }

  /** Binds a cleartext listener; exchanges go to {@code root}. */
  public static ProxyServer start(Settings settings, ExchangeHandler root, ProxyEventLoops loops) {
    return start(settings, root, loops, null);
  }

  /**
   * Binds the listener, speaking TLS as {@code tls} says ({@code null}: cleartext, without even refusing
   * ClientHellos); exchanges go to {@code root}.
   */
  public static ProxyServer start(Settings settings, ExchangeHandler root, ProxyEventLoops loops, ServerTls tls) {
    try {
      return new ProxyServer(settings, root, loops, tls);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while binding", e);
    }
  }

  public int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  ExchangeHandler root() {
    return root;
  }

  void http2Connection(Channel parent) {
    http2Connections.add(parent);
  }

  private void initConnection(Channel ch) {
    ConnectionTimer timer = new ConnectionTimer(settings.requestHeaderTimeout(), settings.idleTimeout());
    ch.pipeline().addLast("timer", timer);
    if (tls == null) {
      cleartext(ch.pipeline());
      return;
    }
    tls.initChannel(ch, (pipeline, protocol) -> {
      switch (protocol) {
        case CLEARTEXT -> cleartext(pipeline);
        case HTTP_1_1 -> {
          // The handshake's bytes started the header clock: from now on the connection is idle until a request.
          timer.busy(false);
          pipeline.addLast("http1", http1Codec()).addLast(EXCHANGES, new DownstreamHandler(this, false));
        }
        case H2 -> {
          // What an h2c upgrade leaves, installed at once: ALPN chose HTTP/2.
          timer.http2();
          http2Connection(ch);
          pipeline.addLast("http2", http2Codec())
              .addLast(new StreamWatcher())
              .addLast(multiplexer())
              .addLast("http2-connection", new DownstreamHandler.Http2ConnectionHandler());
        }
      }
    });
  }

  /** HTTP/1.1, upgraded to h2c by request, or HTTP/2 with prior knowledge. */
  private void cleartext(ChannelPipeline pipeline) {
    HttpServerCodec http1 = http1Codec();
    HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(http1,
        protocol -> AsciiString.contentEquals(H2C, protocol)
            ? new Http2ServerUpgradeCodec(http2Codec(), new StreamWatcher(), multiplexer())
            : null,
        MAX_UPGRADE_BODY_BYTES) {
      @Override
      protected boolean shouldHandleUpgradeRequest(HttpRequest request) {
        // Only h2c is this server's to handle; other upgrades (WebSocket) go to the app as they are, body and all.
        String value = request.headers().get(HttpHeaderNames.UPGRADE);
        return value != null && AsciiString.containsIgnoreCase(value, H2C);
      }
    };
    pipeline.addLast("h2c", new CleartextHttp2ServerUpgradeHandler(http1, upgrade, new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        // In place of the upgrade handler, before the exchange handler (which then leaves: see DownstreamHandler).
        ch.pipeline().addBefore(EXCHANGES, null, http2Codec())
            .addBefore(EXCHANGES, null, new StreamWatcher())
            .addBefore(EXCHANGES, null, multiplexer());
      }
    }));
    pipeline.addLast(EXCHANGES, new DownstreamHandler(this, false));
  }

  private HttpServerCodec http1Codec() {
    return new HttpServerCodec(new HttpDecoderConfig()
        .setMaxInitialLineLength(settings.maxHeaderBytes())
        .setMaxHeaderSize(settings.maxHeaderBytes())
        .setMaxChunkSize(64 * 1024)
        .setStrictLineParsing(true));
  }

  private Http2FrameCodec http2Codec() {
    return Http2FrameCodecBuilder.forServer()
        .initialSettings(Http2Settings.defaultSettings()
            .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
            .initialWindowSize(INITIAL_WINDOW_BYTES)
            .maxFrameSize(MAX_FRAME_BYTES)
            .maxHeaderListSize(settings.maxHeaderBytes()))
        .validateHeaders(true)
        // Rapid reset (CVE-2023-44487): a client resetting more streams than this is disconnected.
        .decoderEnforceMaxRstFramesPerWindow(200, 30)
        .build();
  }

  private Http2MultiplexHandler multiplexer() {
    return new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel stream) {
        stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true, true), new DownstreamHandler(ProxyServer.this, true));
      }
    });
  }

  /**
   * Tells every HTTP/2 client to go away: GOAWAY(NO_ERROR), the streams it has open run on (within the
   * {@code grace}), new ones go to a new connection. HTTP/1.1 clients learn it from {@code Connection: close}.
   */
  public void goAway(Duration grace) {
    for (Channel connection : http2Connections) {
      connection.eventLoop().execute(() -> {
        Http2FrameCodec codec = connection.pipeline().get(Http2FrameCodec.class);
        if (codec != null) {
          codec.gracefulShutdownTimeoutMillis(grace.toMillis());
        }
        connection.close(); // Http2ConnectionHandler.close: GOAWAY(NO_ERROR), closed once the streams end
      });
    }
  }

  /** Stops accepting, and closes every connection. */
  @Override
  public void close() {
    listener.close().syncUninterruptibly();
    connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  /** The event loops serving this listener. */
  public ProxyEventLoops eventLoops() {
    return loops;
  }
}
