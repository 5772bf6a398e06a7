package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.ResponseFlag;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A {@code CONNECT} tunnel: a plain TCP connection to the destination, opened on the exchange's event loop,
 * then {@code 200} to the client and bytes as they are both ways, each side pausing the other when it
 * cannot take more. Either side closing closes the other. The destination is an address: resolving a name
 * (off the event loop) is the caller's job.
 */
public final class Tunnel implements RequestSink {
  private final ServerExchange exchange;
  private Channel upstream;
  private boolean closed;

  private Tunnel(ServerExchange exchange) {
    this.exchange = exchange;
  }

  /**
   * Connects to {@code address} for the {@code CONNECT} {@code exchange} (HTTP/1.1) and opens the tunnel;
   * when the connection fails the exchange is answered 502 (flagged {@code UPSTREAM_REFUSED}).
   */
  public static void open(ProxyExchange proxyExchange, InetSocketAddress address, Duration connectTimeout) {
    if (!(proxyExchange instanceof ServerExchange exchange) || exchange.isHttp2()) {
      throw new IllegalArgumentException("not an HTTP/1.1 exchange of a ProxyServer: " + proxyExchange);
    }
    Tunnel tunnel = new Tunnel(exchange);
    exchange.upstreamStarted(System.nanoTime());
    ChannelFuture connect = new Bootstrap()
        .group(exchange.eventLoop())
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
        .handler(tunnel.new FromUpstream())
        .connect(address);
    connect.addListener((ChannelFuture f) -> {
      if (!f.isSuccess()) {
        exchange.flag(ResponseFlag.UPSTREAM_REFUSED);
        exchange.respond(502, "cannot connect to " + address.getAddress().getHostAddress() + ":" + address.getPort(), null);
        return;
      }
      if (exchange.isComplete()) {
        f.channel().close();
        return;
      }
      tunnel.upstream = f.channel();
      exchange.openTunnel(tunnel);
    });
  }

  // --- from the client ---

  @Override
  public void requestContent(HttpContent content) {
    content.release(); // a CONNECT has no body; the tunnel's bytes come raw
  }

  @Override
  public void tunnelBytes(ByteBuf bytes) {
    if (closed) {
      bytes.release();
      return;
    }
    upstream.write(bytes, upstream.voidPromise());
    if (!upstream.isWritable()) {
      exchange.pauseRequestBody(true);
    }
  }

  @Override
  public void requestFlush() {
    if (!closed) {
      upstream.flush();
    }
  }

  @Override
  public void abortUpstream() {
    if (!closed) {
      closed = true;
      upstream.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void downstreamWritable(boolean writable) {
    if (!closed) {
      upstream.config().setAutoRead(writable);
    }
  }

  /** The destination's side: its bytes to the client, its close closes the client's connection. */
  private final class FromUpstream extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (closed || !(msg instanceof ByteBuf bytes)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      exchange.tunnelToClient(bytes);
      if (!exchange.downstreamWritable()) {
        ctx.channel().config().setAutoRead(false);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      exchange.flushResponse();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (!closed) {
        exchange.pauseRequestBody(!ctx.channel().isWritable());
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (upstream != null && !closed) {
        closed = true;
        exchange.tunnelClosed();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
