package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.ResponseFlag;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;

/**
 * Binds one exchange to its upstream stream and moves what each side sends to the other, as it comes:
 * the request body up, the response down, each buffer handed on (never copied, never gathered). A side
 * that cannot take more pauses reading the other, so memory stays bounded by the sockets' and streams'
 * windows. Whichever side breaks off first, the other is cut: the upstream never takes a partial request
 * for a whole one, the client never takes a partial response for a whole one.
 */
final class Relay implements RequestSink {
  private final ServerExchange exchange;
  private final UpstreamStream up;
  private boolean done;
  private boolean requestWritten;
  private boolean responseStarted;
  private boolean skipInterimEnd;
  private boolean tunnel;
  private ScheduledFuture<?> timeout;
  private Retrier retrier;

  /** Asked whether an attempt that failed before the client saw anything goes elsewhere instead. */
  interface Retrier {
    /** Whether another attempt takes the exchange over; this relay then lets go of it. */
    boolean retry(Forwarder.Failure failure);
  }

  Relay(ServerExchange exchange, UpstreamStream up) {
    this.exchange = exchange;
    this.up = up;
  }

  void timeout(ScheduledFuture<?> timer) {
    timeout = timer;
  }

  void retrier(Retrier value) {
    retrier = value;
  }

  // --- request: client to upstream ---

  @Override
  public void requestContent(HttpContent content) {
    if (done) {
      content.release();
      return;
    }
    boolean last = content instanceof LastHttpContent;
    up.write(content, last);
    if (last) {
      requestWritten = true;
    } else if (!up.isWritable()) {
      exchange.pauseRequestBody(true);
    }
  }

  @Override
  public void requestFlush() {
    if (!done) {
      up.flush();
    }
  }

  @Override
  public void abortUpstream() {
    if (!done) {
      done = true;
      cancelTimeout();
      up.abort();
    }
  }

  @Override
  public void downstreamWritable(boolean writable) {
    if (!done) {
      up.setAutoRead(writable);
    }
  }

  @Override
  public void tunnelBytes(ByteBuf bytes) {
    if (done) {
      bytes.release();
    } else {
      up.writeRaw(bytes);
    }
  }

  /** The upstream takes more request again (or not). */
  void upstreamWritable(boolean writable) {
    if (!done) {
      exchange.pauseRequestBody(!writable);
    }
  }

  // --- response: upstream to client ---

  void fromUpstream(Object msg) {
    if (done) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (tunnel) {
      if (msg instanceof ByteBuf bytes) {
        exchange.tunnelToClient(bytes);
      } else {
        ReferenceCountUtil.release(msg);
      }
      return;
    }
    if (msg instanceof HttpResponse response) {
      if (response.decoderResult().isFailure()) {
        ReferenceCountUtil.release(msg);
        protocolError();
        return;
      }
      LastHttpContent end = null;
      if (response instanceof FullHttpResponse full && response.status().code() >= 200 && response.status().code() != 101
          && !full.content().isReadable() && full.trailingHeaders().isEmpty()) {
        // A head that ends the stream (gRPC's trailers-only answer carries its grpc-status there): it stays one.
        done = true;
        cancelTimeout();
        responseStarted = true;
        if (up.isHttp2()) {
          ExtensionHeaders.strip(full.headers());
        }
        exchange.upstreamResponded(true);
        exchange.sendFullResponse(full);
        up.responseDone(requestWritten);
        return;
      }
      if (response instanceof FullHttpResponse full && response.status().code() >= 200) {
        end = new DefaultLastHttpContent(full.content(), full.trailingHeaders());
        response = new DefaultHttpResponse(full.protocolVersion(), full.status(), full.headers());
      }
      head(response);
      if (end != null) {
        fromUpstream(end);
      }
      return;
    }
    if (msg instanceof HttpContent content) {
      if (content.decoderResult().isFailure()) {
        // The body broke off (malformed chunking): the client must see it cut too.
        content.release();
        broken();
        return;
      }
      if (content instanceof LastHttpContent last) {
        if (skipInterimEnd) {
          skipInterimEnd = false;
          last.release();
          return;
        }
        done = true;
        cancelTimeout();
        if (up.isHttp2()) {
          ExtensionHeaders.strip(last.trailingHeaders());
        }
        exchange.sendResponseEnd(last);
        up.responseDone(requestWritten);
        return;
      }
      exchange.sendResponseContent(content);
      if (!exchange.downstreamWritable()) {
        up.setAutoRead(false);
      }
      return;
    }
    ReferenceCountUtil.release(msg);
  }

  private void head(HttpResponse response) {
    int code = response.status().code();
    if (up.isHttp2()) {
      ExtensionHeaders.strip(response.headers());
    }
    if (code < 200 && code != 101) {
      // Informational (100 Continue, 103 Early Hints): relayed as is; the end the HTTP/1.1 decoder adds is not the response's.
      if (response instanceof FullHttpResponse interim) {
        exchange.sendInterim(interim);
      } else {
        skipInterimEnd = true;
        exchange.sendInterim(new DefaultFullHttpResponse(response.protocolVersion(), response.status(),
            Unpooled.EMPTY_BUFFER, response.headers(), EmptyHttpHeaders.INSTANCE));
      }
      return;
    }
    if (code == 503 && retrier != null && retrier.retry(Forwarder.Failure.UNAVAILABLE)) {
      done = true; // the rest of this answer is dropped with its connection
      ReferenceCountUtil.release(response);
      up.abort();
      return;
    }
    responseStarted = true;
    exchange.upstreamResponded(true);
    exchange.sendResponseHead(response);
    if (code == 101 && !up.isHttp2()) {
      tunnel = true;
      cancelTimeout();
      exchange.becomeTunnel();
      exchange.flushResponse();
      up.becomeTunnel();
    }
  }

  void upstreamReadComplete() {
    exchange.flushResponse();
  }

  /** The upstream connection or stream closed (or was reset) before the exchange was over. */
  void upstreamClosed() {
    if (tunnel) {
      done = true;
      exchange.tunnelClosed();
      return;
    }
    if (done) {
      return;
    }
    done = true;
    if (!responseStarted && retrier != null && retrier.retry(Forwarder.Failure.RESET)) {
      return; // the timeout stays: it bounds the retry too
    }
    cancelTimeout();
    if (!responseStarted) {
      exchange.flag(ResponseFlag.UPSTREAM_RESET);
      exchange.respond(502, "upstream reset before answering", null);
    } else {
      broken();
    }
  }

  private void broken() {
    done = true;
    cancelTimeout();
    up.abort();
    if (!responseStarted) {
      exchange.flag(ResponseFlag.UPSTREAM_PROTOCOL_ERROR);
      exchange.closeConnection();
      exchange.respond(502, "upstream response could not be read", null);
      return;
    }
    exchange.flag(ResponseFlag.UPSTREAM_RESET);
    exchange.cutDownstream();
  }

  /** The upstream's response head cannot be framed (conflicting Content-Length...): 502, both connections closed. */
  private void protocolError() {
    done = true;
    cancelTimeout();
    up.abort();
    exchange.flag(ResponseFlag.UPSTREAM_PROTOCOL_ERROR);
    exchange.closeConnection();
    exchange.respond(502, "upstream response could not be framed", null);
  }

  /** {@code UPSTREAM_TIMEOUT} passed: 504 if nothing was answered yet, else the client's side is cut. */
  void timedOut() {
    if (done || tunnel) {
      return;
    }
    done = true;
    up.abort();
    if (!responseStarted) {
      exchange.flag(ResponseFlag.UPSTREAM_TIMEOUT);
      exchange.respond(504, "upstream timed out", null);
    } else {
      exchange.fail(ResponseFlag.UPSTREAM_TIMEOUT, 504, "upstream timed out");
    }
  }

  private void cancelTimeout() {
    if (timeout != null) {
      timeout.cancel(false);
      timeout = null;
    }
  }
}
