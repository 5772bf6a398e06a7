package dev.sidecars.runtime.tls;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Permissive mode's first look at a connection: Netty's {@link OptionalSslHandler} tells TLS from plaintext
 * by the first bytes (a TLS record header, {@link SslHandler#isEncrypted}; an HTTP/1.1 request line or the
 * HTTP/2 preface never is one) and puts an {@code SslHandler} or the plaintext handlers in its place. What
 * it adds: a connection that sends nothing decisive within {@code timeoutNanos} is closed and counted as a
 * handshake {@code timeout} (a slowloris cannot hold it open before TLS even starts), and a TLS connection
 * gets the rest of that time for its handshake.
 */
final class TlsDetector extends OptionalSslHandler {
  /** The TLS record header {@link SslHandler#isEncrypted} reads (and {@link OptionalSslHandler} waits for). */
  private static final int RECORD_HEADER = 5;
  /** What to do once the kind is known; called on the event loop, before this handler leaves. */
  interface Outcome {
    /** A TLS connection: the handler to put in place of the detector (add any handler after it first). */
    SslHandler tls(ChannelHandlerContext ctx, SslContext context, long remainingNanos);

    /** A plaintext connection: add its handlers; the detector then leaves, passing on what it read. */
    void plaintext(ChannelHandlerContext ctx);
  }

  private final Outcome outcome;
  private final HandshakeFailures failures;
  private final long timeoutNanos;
  private long addedAt;
  private ScheduledFuture<?> timer;
  private boolean timedOut;

  TlsDetector(SslContext context, Outcome outcome, HandshakeFailures failures, long timeoutNanos) {
    super(context);
    this.outcome = outcome;
    this.failures = failures;
    this.timeoutNanos = timeoutNanos;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    addedAt = System.nanoTime();
    timer = scheduleTimeout(ctx, timeoutNanos, () -> timedOut = true, failures);
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    if (timer != null) {
      timer.cancel(false);
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    if (timedOut) {
      in.skipBytes(in.readableBytes());
      return;
    }
    super.decode(ctx, in, out);
  }

  @Override
  protected SslHandler newSslHandler(ChannelHandlerContext ctx, SslContext context) {
    return outcome.tls(ctx, context, Math.max(1, timeoutNanos - (System.nanoTime() - addedAt)));
  }

  @Override
  protected String newSslHandlerName() {
    return "tls";
  }

  @Override
  protected ChannelHandler newNonSslHandler(ChannelHandlerContext ctx) {
    outcome.plaintext(ctx);
    return null; // the detector is removed; the handlers added after it get what it read
  }

  /** Closes the connection, counted as a handshake timeout, unless it is cancelled within {@code timeoutNanos}. */
  private static ScheduledFuture<?> scheduleTimeout(ChannelHandlerContext ctx, long timeoutNanos, Runnable onTimeout,
      HandshakeFailures failures) {
    return ctx.executor().schedule(() -> {
      onTimeout.run();
      failures.record(HandshakeFailureReason.TIMEOUT, "no TLS or plaintext request within "
          + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms", ctx.channel().remoteAddress());
      ctx.close();
    }, timeoutNanos, TimeUnit.NANOSECONDS);
  }

  /**
   * For a plaintext-only port: a connection whose first bytes are a TLS record (the same test as {@link
   * OptionalSslHandler}'s) is refused and counted as {@code tls_on_plaintext_port}; any other leaves this
   * handler at once, passing on what it read.
   */
  static ChannelHandler refusingTls(HandshakeFailures failures) {
    return new ByteToMessageDecoder() {
      @Override
      protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < RECORD_HEADER) {
          return;
        }
        if (SslHandler.isEncrypted(in, false)) {
          in.skipBytes(in.readableBytes());
          failures.record(HandshakeFailureReason.TLS_ON_PLAINTEXT_PORT, "a TLS ClientHello on a plaintext port",
              ctx.channel().remoteAddress());
          ctx.close();
        } else {
          ctx.pipeline().remove(this);
        }
      }
    };
  }
}
