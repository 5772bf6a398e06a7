package dev.sidecars.runtime.tls;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Tells TLS from plaintext by a connection's first bytes, then gets out of the way: a TLS handshake record
 * starts with byte 22 and a 5-byte header {@link SslHandler#isEncrypted} recognises; an HTTP/1.1 request
 * line or the HTTP/2 preface never does. Plaintext is decided on the first byte, so it is never delayed.
 *
 * <p>Two uses: in permissive mode both kinds are served ({@code onTls} installs TLS); on a plaintext-only
 * port a ClientHello is refused and counted as {@code tls_on_plaintext_port} ({@code onTls} is null). A
 * connection that sends nothing decisive within {@code timeoutNanos} (when positive) is closed and counted
 * as a handshake {@code timeout}: a slowloris cannot hold it open before TLS even starts.
 */
final class TlsDetector extends ByteToMessageDecoder {
  private static final byte HANDSHAKE_RECORD = 22;
  private static final int RECORD_HEADER = 5;

  /** What to do once the kind is known; called on the event loop, before this handler leaves. */
  interface Outcome {
    void tls(ChannelHandlerContext ctx, long elapsedNanos);

    void plaintext(ChannelHandlerContext ctx);
  }

  private final Outcome outcome;
  private final HandshakeFailures failures;
  private final long timeoutNanos;
  private long addedAt;
  private ScheduledFuture<?> timer;
  private boolean decided;

  TlsDetector(Outcome outcome, HandshakeFailures failures, long timeoutNanos) {
    this.outcome = outcome;
    this.failures = failures;
    this.timeoutNanos = timeoutNanos;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    addedAt = System.nanoTime();
    if (timeoutNanos > 0) {
      timer = ctx.executor().schedule(() -> {
        if (!decided) {
          decided = true;
          failures.record(HandshakeFailureReason.TIMEOUT, "no TLS or plaintext request within "
              + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms", ctx.channel().remoteAddress());
          ctx.close();
        }
      }, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    if (timer != null) {
      timer.cancel(false);
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (decided || !in.isReadable()) {
      if (decided) {
        in.skipBytes(in.readableBytes());
      }
      return;
    }
    boolean tls;
    if (in.getByte(in.readerIndex()) != HANDSHAKE_RECORD) {
      tls = false;
    } else if (in.readableBytes() < RECORD_HEADER) {
      return;
    } else {
      tls = SslHandler.isEncrypted(in, false);
    }
    decided = true;
    if (timer != null) {
      timer.cancel(false);
    }
    if (tls) {
      outcome.tls(ctx, System.nanoTime() - addedAt);
    } else {
      outcome.plaintext(ctx);
    }
  }

  /** The outcome for a plaintext-only port: TLS is refused and counted, plaintext goes on. */
  static TlsDetector refusingTls(HandshakeFailures failures) {
    return new TlsDetector(new Outcome() {
      @Override
      public void tls(ChannelHandlerContext ctx, long elapsedNanos) {
        failures.record(HandshakeFailureReason.TLS_ON_PLAINTEXT_PORT, "a TLS ClientHello on a plaintext port",
            ctx.channel().remoteAddress());
        ctx.close();
      }

      @Override
      public void plaintext(ChannelHandlerContext ctx) {
        ctx.pipeline().remove(ctx.handler());
      }
    }, failures, 0);
  }
}
