package dev.sidecars.runtime.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;

/**
 * Sits before the {@code Http2MultiplexHandler} of an HTTP/2 connection and sees every RST_STREAM as it
 * arrives. A stream channel paused for backpressure (auto-read off) learns of its reset only once it has
 * read the frames queued before it, which it may never do: without this, a cancel would not reach the
 * other side of the proxy.
 */
final class ResetWatcher extends ChannelInboundHandlerAdapter {
  private final IntObjectMap<Runnable> onReset = new IntObjectHashMap<>(); // event loop only

  /** Runs {@code action} when the peer resets {@code stream}; forgotten when the stream closes. */
  static void watch(Http2StreamChannel stream, Runnable action) {
    int id = stream.stream().id();
    ResetWatcher watcher = stream.parent().pipeline().get(ResetWatcher.class);
    if (watcher == null || id <= 0) {
      return;
    }
    watcher.onReset.put(id, action);
    stream.closeFuture().addListener(f -> watcher.onReset.remove(id));
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Http2ResetFrame reset && reset.stream() != null) {
      Runnable action = onReset.remove(reset.stream().id());
      if (action != null) {
        action.run();
      }
    }
    ctx.fireChannelRead(msg);
  }
}
