package dev.sidecars.runtime.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpObject;

/**
 * One request/response on an upstream: a pooled HTTP/1.1 connection lent for the exchange, or a stream of
 * a shared HTTP/2 connection. The forwarding side writes the request as {@code HttpRequest}/{@code
 * HttpContent}/{@code LastHttpContent} and receives the response the same way, whichever the protocol.
 */
abstract class UpstreamStream {
  private Relay relay;

  /** From now on what the upstream sends goes to {@code relay}. */
  final void bind(Relay target) {
    relay = target;
  }

  final Relay relay() {
    return relay;
  }

  /** Delivers {@code msg} to the bound relay, or releases it when there is none. */
  final void deliver(Object msg) {
    Relay r = relay;
    if (r == null) {
      io.netty.util.ReferenceCountUtil.release(msg);
    } else {
      r.fromUpstream(msg);
    }
  }

  abstract boolean isHttp2();

  /** The connection (HTTP/1.1) or stream channel (HTTP/2) the exchange runs on. */
  abstract Channel channel();

  /** Writes part of the request (owned by this stream from now on). */
  final void write(HttpObject msg, boolean flush) {
    Channel ch = channel();
    if (flush) {
      ch.writeAndFlush(msg, ch.voidPromise());
    } else {
      ch.write(msg, ch.voidPromise());
    }
  }

  final void flush() {
    channel().flush();
  }

  /** Whether the upstream takes more request now. */
  boolean isWritable() {
    return channel().isWritable();
  }

  /** Pauses (or resumes) reading the upstream's response. */
  final void setAutoRead(boolean autoRead) {
    channel().config().setAutoRead(autoRead);
  }

  /** The upstream's read batch is over: the relay flushes what it passed to the client. */
  final void readComplete() {
    Relay r = relay;
    if (r != null) {
      r.upstreamReadComplete();
    }
  }

  /** The upstream takes more request again (or not). */
  final void writabilityChanged() {
    Relay r = relay;
    if (r != null) {
      r.upstreamWritable(isWritable());
    }
  }

  /** The connection or stream closed, or was reset, before the exchange let go of it. */
  final void closed() {
    Relay r = relay;
    relay = null;
    if (r != null) {
      r.upstreamClosed();
    }
  }

  /**
   * Cuts the exchange mid-way: an HTTP/1.1 connection is closed (the upstream sees its request end early,
   * never complete), an HTTP/2 stream is reset (RST_STREAM CANCEL).
   */
  abstract void abort();

  /**
   * The whole response was read; {@code requestWritten} says whether the whole request was written. An
   * HTTP/1.1 connection goes back to the pool only when both are true and it may be kept alive.
   */
  abstract void responseDone(boolean requestWritten);

  /** The request head was written (an HTTP/2 stream has its id now). */
  void headWritten() {}

  /** Never used (the exchange ended while it was being obtained): back to the pool, or closed. */
  abstract void unused();

  /** HTTP/1.1 after a {@code 101}: the codec leaves, bytes pass as they are. */
  void becomeTunnel() {
    throw new UnsupportedOperationException("no tunnel on " + getClass().getSimpleName());
  }

  /** Raw bytes of a tunnel, owned by this stream from now on. */
  void writeRaw(ByteBuf bytes) {
    bytes.release();
  }
}
