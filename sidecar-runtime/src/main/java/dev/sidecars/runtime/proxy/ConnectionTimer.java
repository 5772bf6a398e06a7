package dev.sidecars.runtime.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2FrameCodec;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * First in a client connection's pipeline: closes it when a request's head takes longer than the header
 * timeout to arrive (slowloris), or when it has been idle (no exchange running, no byte of a new request)
 * for the idle timeout. Once the connection speaks HTTP/2 only the idle rule stays: no stream open. One
 * check per connection every tick, nothing per request but two time stamps.
 */
final class ConnectionTimer extends ChannelInboundHandlerAdapter {
  private final long headerTimeoutNanos;
  private final long idleTimeoutNanos;
  private final long tickNanos;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> ticks;
  private boolean busy;
  private boolean http2;
  /** When the connection became idle; when the current head's first byte came (0: none yet). */
  private long idleSince;
  private long headSince;

  ConnectionTimer(Duration headerTimeout, Duration idleTimeout) {
    this.headerTimeoutNanos = headerTimeout.toNanos();
    this.idleTimeoutNanos = idleTimeout.toNanos();
    long shortest = Math.min(headerTimeoutNanos, idleTimeoutNanos);
    this.tickNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(50), Math.min(TimeUnit.SECONDS.toNanos(1), shortest / 4));
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    idleSince = System.nanoTime();
    ticks = ctx.executor().scheduleAtFixedRate(this::tick, tickNanos, tickNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    ticks.cancel(false);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    ticks.cancel(false);
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (!busy && headSince == 0 && msg instanceof ByteBuf) {
      headSince = System.nanoTime();
    }
    ctx.fireChannelRead(msg);
  }

  /** An exchange started (its head is complete) or ended. */
  void busy(boolean value) {
    busy = value;
    if (!value) {
      idleSince = System.nanoTime();
      headSince = 0;
    }
  }

  /** The connection now speaks HTTP/2: idle means no stream open. */
  void http2() {
    http2 = true;
    busy = false;
    headSince = 0;
    idleSince = System.nanoTime();
  }

  private void tick() {
    long now = System.nanoTime();
    if (http2) {
      Http2FrameCodec codec = ctx.pipeline().get(Http2FrameCodec.class);
      if (codec != null && codec.connection().numActiveStreams() > 0) {
        idleSince = now;
      } else if (now - idleSince >= idleTimeoutNanos) {
        ctx.close(); // GOAWAY first: Http2ConnectionHandler.close
      }
      return;
    }
    if (busy) {
      return;
    }
    if (headSince != 0 ? now - headSince >= headerTimeoutNanos : now - idleSince >= idleTimeoutNanos) {
      ctx.close();
    }
  }
}
