package dev.sidecars.runtime.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A multiplexed h2c connection to an upstream (prior knowledge), shared by the exchanges of one event loop.
 * Streams beyond the upstream's SETTINGS_MAX_CONCURRENT_STREAMS wait for a free one (Netty's buffering
 * encoder). After the upstream's GOAWAY the connection takes no new streams (its pool opens another) while
 * the running ones finish.
 */
final class Http2Upstream {
  private static final Logger LOG = Logger.getLogger(Http2Upstream.class.getName());

  private final Channel channel;
  private final UpstreamPool pool;
  private boolean goingAway;

  Http2Upstream(Channel channel, UpstreamPool pool) {
    this.channel = channel;
    this.pool = pool;
  }

  /** The handlers of a new upstream h2c connection. */
  static void initPipeline(Channel ch) {
    ch.pipeline().addLast(
        Http2FrameCodecBuilder.forClient()
            .initialSettings(Http2Settings.defaultSettings()
                .pushEnabled(false)
                .initialWindowSize(ProxyServer.INITIAL_WINDOW_BYTES)
                .maxFrameSize(ProxyServer.MAX_FRAME_BYTES))
            .encoderEnforceMaxConcurrentStreams(true)
            .validateHeaders(true)
            .build(),
        new StreamWatcher(),
        new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
  }

  /**
   * Joins the pool's bookkeeping (GOAWAY and close take it out) and tells {@code ready} once: {@code true}
   * when the upstream's first SETTINGS came, {@code false} when the connection closed before.
   */
  void start(java.util.function.Consumer<Boolean> ready) {
    channel.pipeline().addLast("connection", new ChannelInboundHandlerAdapter() {
      private boolean settled;

      private void settle(boolean value) {
        if (!settled) {
          settled = true;
          ready.accept(value);
        }
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2SettingsFrame) {
          settle(true);
        } else if (msg instanceof Http2GoAwayFrame) {
          // Streams up to its last-stream-id run on; new ones go to another connection.
          goingAway = true;
          pool.closed(Http2Upstream.this);
        }
        ReferenceCountUtil.release(msg);
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        settle(false);
        pool.closed(Http2Upstream.this);
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.log(Level.FINE, "upstream HTTP/2 connection failed", cause);
        ctx.close();
      }
    });
  }

  boolean usable() {
    return channel.isActive() && !goingAway;
  }

  /** Whether a new stream would start at once (not wait for the upstream's limit). */
  boolean hasRoom() {
    Http2FrameCodec codec = channel.pipeline().get(Http2FrameCodec.class);
    return codec != null && codec.connection().local().canOpenStream();
  }

  int activeStreams() {
    Http2FrameCodec codec = channel.pipeline().get(Http2FrameCodec.class);
    return codec == null ? Integer.MAX_VALUE : codec.connection().local().numActiveStreams();
  }

  void close() {
    channel.close();
  }

  /** Opens a stream for one exchange. */
  Future<Http2StreamChannel> openStream(Stream stream) {
    return new Http2StreamChannelBootstrap(channel)
        .handler(new ChannelInitializer<Http2StreamChannel>() {
          @Override
          protected void initChannel(Http2StreamChannel ch) {
            stream.channel = ch;
            ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false, true), stream.handler());
          }
        })
        .open();
  }

  /** One stream of the connection, carrying one exchange. */
  static final class Stream extends UpstreamStream implements StreamWatcher.Listener {
    private Http2StreamChannel channel;
    private StreamWatcher watcher;
    private boolean ended;

    @Override
    boolean isHttp2() {
      return true;
    }

    @Override
    Channel channel() {
      return channel;
    }

    @Override
    boolean isWritable() {
      return watcher == null ? channel.isWritable() : watcher.isWritable(channel);
    }

    @Override
    void abort() {
      bind(null);
      channel.close(); // RST_STREAM(CANCEL) when the stream is not closed yet
    }

    @Override
    void responseDone(boolean requestWritten) {
      bind(null);
      if (!requestWritten) {
        channel.close();
      }
    }

    @Override
    void unused() {
      channel.close();
    }

    /**
     * Once the stream has an id (its HEADERS went out): the upstream's RST reaches the relay even when
     * paused, and so does its flow-control window running out.
     */
    @Override
    void headWritten() {
      watcher = StreamWatcher.of(channel);
      if (watcher != null) {
        watcher.watch(channel, this);
      }
    }

    @Override
    public void flowControlChanged() {
      writabilityChanged();
    }

    @Override
    public void reset() {
      closed();
      channel.close();
    }

    ChannelInboundHandlerAdapter handler() {
      return new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          if (msg instanceof LastHttpContent) {
            ended = true;
          }
          deliver(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
          readComplete();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
          writabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
          if (ended) {
            bind(null);
          } else {
            closed();
          }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
          LOG.log(Level.FINE, "upstream HTTP/2 stream failed", cause);
          ctx.close();
        }
      };
    }
  }
}
