package dev.sidecars.runtime.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameStreamEvent;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;

/**
 * Sits between the {@code Http2FrameCodec} and the {@code Http2MultiplexHandler} of an HTTP/2 connection
 * and tells each watched stream two things its stream channel does not:
 *
 * <ul>
 *   <li>its RST_STREAM, as it arrives: a stream channel paused for backpressure (auto-read off) learns of
 *       its reset only once it has read the frames queued before it, which it may never do, and a cancel
 *       would not reach the other side of the proxy;
 *   <li>its flow-control window running out or opening again: a stream channel stays writable while its
 *       frames wait in the connection's flow controller for the peer's window, so without this a peer that
 *       stops reading (a slow client, an app that does not read its upload) would make the proxy queue
 *       without bound.
 * </ul>
 */
final class StreamWatcher extends ChannelInboundHandlerAdapter {
  /** What a watched stream is told. */
  interface Listener {
    /** The peer reset the stream. */
    void reset();

    /** The stream's flow-control window ran out or opened again: look at {@link #isWritable} anew. */
    void flowControlChanged();
  }

  private final IntObjectMap<Listener> listeners = new IntObjectHashMap<>(); // event loop only
  private Http2FrameCodec codec;

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    codec = ctx.pipeline().get(Http2FrameCodec.class);
  }

  /** The watcher of {@code stream}'s connection, or {@code null}. */
  static StreamWatcher of(Http2StreamChannel stream) {
    return stream.parent().pipeline().get(StreamWatcher.class);
  }

  /** Tells {@code listener} about {@code stream} (which must have its id) until the stream closes. */
  void watch(Http2StreamChannel stream, Listener listener) {
    int id = stream.stream().id();
    if (id <= 0) {
      return;
    }
    listeners.put(id, listener);
    stream.closeFuture().addListener(f -> listeners.remove(id));
  }

  /** Whether {@code stream} may send more: its channel is writable and its flow-control window not used up. */
  boolean isWritable(Http2StreamChannel stream) {
    if (!stream.isWritable()) {
      return false;
    }
    int id = stream.stream().id();
    if (codec == null || id <= 0) {
      return true;
    }
    Http2Stream s = codec.connection().stream(id);
    return s == null || codec.connection().remote().flowController().isWritable(s);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Http2ResetFrame reset && reset.stream() != null) {
      Listener listener = listeners.remove(reset.stream().id());
      if (listener != null) {
        listener.reset();
      }
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof Http2FrameStreamEvent event && event.type() == Http2FrameStreamEvent.Type.Writability
        && event.stream() != null) {
      Listener listener = listeners.get(event.stream().id());
      if (listener != null) {
        listener.flowControlChanged();
      }
    }
    ctx.fireUserEventTriggered(evt);
  }
}
