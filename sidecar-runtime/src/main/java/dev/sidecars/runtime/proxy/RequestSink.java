package dev.sidecars.runtime.proxy;

import io.netty.handler.codec.http.HttpContent;

/** Where a forwarded exchange's request body goes, and how the exchange tells its upstream side what happens. */
interface RequestSink {
  /** The next piece of request body; the sink owns it. */
  void requestContent(HttpContent content);

  /** The client's read batch is over: flush what was written upstream. */
  void requestFlush();

  /** The exchange ended before its time (the client went away, the proxy failed it): cut the upstream now. */
  void abortUpstream();

  /** The client's side became writable again (or not): resume (or pause) reading the upstream's response. */
  void downstreamWritable(boolean writable);

  /** Raw bytes from the client once the exchange became a tunnel (an upgrade); the sink owns them. */
  default void tunnelBytes(io.netty.buffer.ByteBuf bytes) {
    bytes.release();
  }
}
