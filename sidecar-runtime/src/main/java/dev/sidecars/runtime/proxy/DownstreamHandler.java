package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.tls.TlsPeer;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The client's side of the proxy, at the end of a connection's pipeline (HTTP/1.1) or of a stream's
 * (HTTP/2, after {@code Http2StreamFrameToHttpObjectCodec}): either way it reads {@code HttpRequest},
 * {@code HttpContent} and {@code LastHttpContent}, and runs one {@link ServerExchange} at a time through
 * the proxy's handler chain. HTTP/1.1 requests sent before the previous answer (pipelining) wait their turn
 * with reading paused. Reading is paused for as many reasons as there are (a pipelined request waiting,
 * the upstream not ready, the upstream not taking more), and resumes when none is left.
 */
final class DownstreamHandler extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = Logger.getLogger(DownstreamHandler.class.getName());

  static final int PAUSE_QUEUED = 1;
  static final int PAUSE_WAITING_UPSTREAM = 2;
  static final int PAUSE_BACKPRESSURE = 4;

  private final ProxyServer server;
  private final boolean http2;
  private ChannelHandlerContext ctx;
  private ServerExchange current;
  private ArrayDeque<Object> queued;
  private int pauses;
  private boolean tunnel;
  private boolean closeAfterExchange;
  private ChannelFuture lastWrite;
  private long resumedAt;
  private StreamWatcher watcher;

  DownstreamHandler(ProxyServer server, boolean http2) {
    this.server = server;
    this.http2 = http2;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (tunnel) {
      ServerExchange ex = current;
      if (ex != null && msg instanceof ByteBuf bytes) {
        ex.tunnelBytes(bytes);
      } else {
        ReferenceCountUtil.release(msg);
      }
      return;
    }
    if (queued != null && !queued.isEmpty() || current != null && current.requestComplete() && msg instanceof HttpRequest) {
      // A pipelined request (HTTP/1.1): it waits until the one before is answered.
      if (queued == null) {
        queued = new ArrayDeque<>();
      }
      queued.add(msg);
      pause(PAUSE_QUEUED);
      return;
    }
    dispatch(msg);
  }

  private void dispatch(Object msg) {
    if (msg instanceof HttpRequest request) {
      start(request);
    } else if (msg instanceof HttpContent content) {
      ServerExchange ex = current;
      if (ex != null) {
        ex.requestContent(content);
      } else {
        content.release();
      }
    } else {
      ReferenceCountUtil.release(msg); // Http2ResetFrame and the like: the stream's closing says it
    }
  }

  private void start(HttpRequest received) {
    HttpRequest head = received;
    HttpContent body = null;
    if (received instanceof FullHttpRequest full) {
      // One object for head and body (HTTP/2 headers with END_STREAM, a failed head): split, so the head can
      // go on before the body and each is forwarded as what it is.
      head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(), full.headers());
      head.setDecoderResult(full.decoderResult());
      body = new DefaultLastHttpContent(full.content(), full.trailingHeaders());
    }
    if (http2) {
      ExtensionHeaders.strip(head.headers());
    }
    ServerExchange ex = new ServerExchange(this, head, http2, System.nanoTime());
    current = ex;
    ConnectionTimer timer = http2 ? null : ctx.pipeline().get(ConnectionTimer.class);
    if (timer != null) {
      timer.busy(true);
    }
    if (body != null) {
      ex.requestContent(body); // waits for the upstream; the request is known complete from the start
    }
    try {
      server.root().handle(ex);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "proxy handler failed", e);
      ex.fail(null, 500, "proxy error");
    }
  }

  /** Called by the exchange once it is over. */
  void exchangeDone(ServerExchange ex) {
    if (current != ex) {
      return;
    }
    current = null;
    if (http2) {
      // Whatever the stream still holds is read (and dropped) so it can end; one left unfinished is reset.
      pauses = 0;
      ctx.channel().config().setAutoRead(true);
      if (!ex.requestComplete() || ex.flag() == ResponseFlag.CLIENT_DISCONNECTED) {
        ctx.close();
      }
      return;
    }
    if (tunnel) {
      return;
    }
    if (ex.closesConnection() || closeAfterExchange || !ctx.channel().isActive()) {
      releaseQueued();
      flushAndClose();
      return;
    }
    ConnectionTimer timer = ctx.pipeline().get(ConnectionTimer.class);
    if (timer != null) {
      timer.busy(false);
    }
    pauses &= ~PAUSE_WAITING_UPSTREAM & ~PAUSE_BACKPRESSURE;
    // The next pipelined request, if any.
    while (queued != null && !queued.isEmpty() && (current == null || !current.requestComplete())) {
      dispatch(queued.poll());
    }
    if (queued == null || queued.isEmpty()) {
      resume(PAUSE_QUEUED);
      if (pauses == 0) {
        ctx.channel().config().setAutoRead(true);
      }
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    ServerExchange ex = current;
    if (ex != null) {
      ex.readComplete();
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    ServerExchange ex = current;
    if (ex != null) {
      ex.downstreamWritable(isWritable());
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    if (http2) {
      Http2StreamChannel stream = (Http2StreamChannel) ctx.channel();
      // A client's RST_STREAM reaches the exchange even while this stream is paused, and so does its
      // flow-control window running out (the client reads slowly) or opening again.
      watcher = StreamWatcher.of(stream);
      if (watcher != null) {
        watcher.watch(stream, new StreamWatcher.Listener() {
          @Override
          public void reset() {
            ServerExchange ex = current;
            if (ex != null) {
              ex.downstreamClosed();
            }
          }

          @Override
          public void flowControlChanged() {
            ServerExchange ex = current;
            if (ex != null) {
              ex.downstreamWritable(isWritable());
            }
          }
        });
      }
    }
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    ServerExchange ex = current;
    if (ex != null) {
      ex.downstreamClosed();
    }
    releaseQueued();
    super.channelInactive(ctx);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (!http2 && (evt instanceof HttpServerUpgradeHandler.UpgradeEvent
        || evt instanceof CleartextHttp2ServerUpgradeHandler.PriorKnowledgeUpgradeEvent)) {
      // The connection speaks HTTP/2 from now on: its streams get handlers of their own.
      ConnectionTimer timer = ctx.pipeline().get(ConnectionTimer.class);
      if (timer != null) {
        timer.http2();
      }
      server.http2Connection(ctx.channel());
      ctx.pipeline().replace(this, "http2-connection", new Http2ConnectionHandler());
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.log(Level.FINE, "client connection failed", cause);
    ctx.close();
  }

  // --- for the exchange ---

  String scheme() {
    return tls().isPresent() ? "https" : "http";
  }

  /** What the connection's TLS handshake established; empty for cleartext. */
  Optional<TlsPeer> tls() {
    return TlsPeer.of(ctx.channel());
  }

  InetSocketAddress clientAddress() {
    Channel ch = http2 ? ctx.channel().parent() : ctx.channel();
    return (InetSocketAddress) ch.remoteAddress();
  }

  InetSocketAddress localAddress() {
    Channel ch = http2 ? ctx.channel().parent() : ctx.channel();
    return (InetSocketAddress) ch.localAddress();
  }

  EventLoop eventLoop() {
    return ctx.channel().eventLoop();
  }

  void pause(int reason) {
    if (pauses == 0) {
      ctx.channel().config().setAutoRead(false);
    }
    pauses |= reason;
  }

  void resume(int reason) {
    if ((pauses & reason) == 0) {
      return;
    }
    pauses &= ~reason;
    if (pauses == 0) {
      resumedAt = System.nanoTime();
      ctx.channel().config().setAutoRead(true);
    }
  }

  boolean paused() {
    return pauses != 0;
  }

  /** When reading last resumed after a pause ({@link System#nanoTime()}; 0 if never). */
  long resumedAt() {
    return resumedAt;
  }

  boolean isWritable() {
    return watcher == null ? ctx.channel().isWritable() : watcher.isWritable((Http2StreamChannel) ctx.channel());
  }

  void write(Object msg, boolean flush) {
    lastWrite = flush ? ctx.writeAndFlush(msg) : ctx.write(msg);
  }

  void writeRaw(ByteBuf bytes) {
    lastWrite = ctx.write(bytes);
  }

  void flush() {
    ctx.flush();
  }

  /** Flushes what was written, then closes the connection (HTTP/1.1) or the stream (HTTP/2). */
  void flushAndClose() {
    ctx.flush();
    ChannelFuture last = lastWrite;
    if (last != null && !last.isDone()) {
      last.addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.close();
    }
  }

  /**
   * The response broke off: the client must see it cut, never complete (no last chunk; a stream reset
   * with INTERNAL_ERROR after what was sent, which gRPC clients report as INTERNAL, not as their own CANCELLED).
   */
  void cut() {
    releaseQueued();
    if (http2) {
      ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR));
    }
    flushAndClose();
  }

  /** HTTP/2: the stream is reset as not processed (REFUSED_STREAM), so the client may retry it elsewhere. */
  void refuseStream() {
    releaseQueued();
    ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.REFUSED_STREAM));
  }

  /** The response ended before the request: HTTP/1.1 closes after it; HTTP/2 tells the client to stop sending. */
  void endWithRequestOpen() {
    if (http2) {
      ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.NO_ERROR));
    } else {
      closeAfterExchange = true;
    }
  }

  /** After a {@code 101}: the HTTP codec leaves the pipeline and bytes pass as they are. */
  void becomeTunnel() {
    tunnel = true;
    var pipeline = ctx.pipeline();
    if (pipeline.get(HttpServerUpgradeHandler.class) != null) {
      pipeline.remove(HttpServerUpgradeHandler.class);
    }
    ConnectionTimer timer = pipeline.get(ConnectionTimer.class);
    if (timer != null) {
      pipeline.remove(timer);
    }
    pauses = 0;
    ctx.channel().config().setAutoRead(true);
    if (pipeline.get(HttpServerCodec.class) != null) {
      pipeline.remove(HttpServerCodec.class); // what it held back arrives here as raw bytes
    }
  }

  private void releaseQueued() {
    if (queued != null) {
      queued.forEach(ReferenceCountUtil::release);
      queued.clear();
    }
  }

  /** On the parent of an HTTP/2 connection, after the streams' multiplexer: frames left over are released. */
  static final class Http2ConnectionHandler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.log(Level.FINE, "HTTP/2 client connection failed", cause);
      ctx.close();
    }
  }
}
