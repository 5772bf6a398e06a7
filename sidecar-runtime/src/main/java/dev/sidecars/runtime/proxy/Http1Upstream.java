package dev.sidecars.runtime.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A keep-alive HTTP/1.1 connection to an upstream, the last handler of its pipeline (after {@code
 * HttpClientCodec}). It is lent to one exchange at a time and goes back to its pool only when that
 * exchange's request was written whole and its response read whole: a connection with anything
 * unfinished on it is closed, never reused, so no request ever waits behind, or is read as part of,
 * another.
 */
final class Http1Upstream extends UpstreamStream {
  private static final Logger LOG = Logger.getLogger(Http1Upstream.class.getName());

  private final Channel channel;
  private final UpstreamPool pool;
  private boolean keepAlive;
  private boolean tunnel;
  /** When it went back to the pool ({@link System#nanoTime()}). */
  long idleSince;

  Http1Upstream(Channel channel, UpstreamPool pool) {
    this.channel = channel;
    this.pool = pool;
    channel.pipeline().addLast("exchange", new Handler());
  }

  @Override
  Channel channel() {
    return channel;
  }

  @Override
  boolean isHttp2() {
    return false;
  }

  /** Lent to a new exchange. */
  void lent() {
    keepAlive = true;
  }

  @Override
  void abort() {
    bind(null);
    channel.close();
  }

  @Override
  void responseDone(boolean requestWritten) {
    bind(null);
    if (requestWritten && keepAlive && channel.isActive()) {
      channel.config().setAutoRead(true);
      pool.release(this);
    } else {
      channel.close();
    }
  }

  @Override
  void unused() {
    pool.release(this);
  }

  @Override
  void becomeTunnel() {
    tunnel = true;
    channel.config().setAutoRead(true);
    channel.pipeline().remove(HttpClientCodec.class); // what it held back arrives as raw bytes
  }

  @Override
  void writeRaw(ByteBuf bytes) {
    channel.write(bytes, channel.voidPromise());
  }

  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpResponse response && response.status().code() >= 200) {
        keepAlive = HttpUtil.isKeepAlive(response);
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
      pool.closed(Http1Upstream.this);
      closed();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.log(Level.FINE, "upstream connection failed", cause);
      ctx.close();
    }
  }
}
