package dev.sidecars.runtime.tls;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Sits right after the {@link SslHandler} until the handshake ends. On success it records the {@link
 * TlsPeer} on the channel, lets the caller add the protocol's handlers, and leaves the pipeline. On failure
 * it counts the reason, closes the connection and stays, to swallow the exception Netty fires after the
 * event (already counted and logged, throttled; otherwise it would reach the pipeline's tail, once per
 * failure).
 */
final class HandshakeWatcher extends ChannelInboundHandlerAdapter {
  private final HandshakeFailures failures;
  private final boolean clientSide;
  private final BiConsumer<ChannelHandlerContext, TlsPeer> onSuccess;
  private final Consumer<Throwable> onFailure;
  private boolean failed;

  HandshakeWatcher(HandshakeFailures failures, boolean clientSide, BiConsumer<ChannelHandlerContext, TlsPeer> onSuccess,
      Consumer<Throwable> onFailure) {
    this.failures = failures;
    this.clientSide = clientSide;
    this.onSuccess = onSuccess;
    this.onFailure = onFailure;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
    if (event instanceof SslHandshakeCompletionEvent handshake) {
      if (handshake.isSuccess()) {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        TlsPeer peer = TlsPeer.from(ssl);
        ctx.channel().attr(TlsPeer.KEY).set(peer);
        onSuccess.accept(ctx, peer);
        ctx.pipeline().remove(this);
      } else if (!failed) {
        failed = true;
        failures.record(handshake.cause(), clientSide, ctx.channel().remoteAddress());
        ctx.close();
        onFailure.accept(handshake.cause());
      }
    }
    ctx.fireUserEventTriggered(event);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (failed) {
      return;
    }
    ctx.fireExceptionCaught(cause);
  }
}
