package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.rpc.GrpcCall;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Honours a gRPC request's {@code grpc-timeout} as its deadline in the proxy (the upstream timeout, when
 * shorter, stays the deadline: whichever ends first). When it passes, the upstream stream is reset (so the
 * app stops working on a call nobody waits for) and the client gets {@code DEADLINE_EXCEEDED} (through
 * {@link GrpcAnswers}) or, once the response started, a reset; the exchange is flagged {@code UT} like any
 * upstream timeout. When the upstream timeout is the shorter, the {@code grpc-timeout} forwarded is
 * lowered to it, so the app knows the deadline it really has.
 */
public final class GrpcDeadline implements ExchangeHandler {
  /** gRPC's deadline header: up to 8 digits and a unit (H, M, S, m, u, n). */
  public static final AsciiString GRPC_TIMEOUT = AsciiString.cached("grpc-timeout");
  private static final long MAX_VALUE = 99_999_999L;

  private final ExchangeHandler next;
  private final long upstreamTimeoutNanos;

  /** @param upstreamTimeout the forwarder's bound on a whole exchange; zero: none */
  public GrpcDeadline(ExchangeHandler next, Duration upstreamTimeout) {
    this.next = next;
    this.upstreamTimeoutNanos = upstreamTimeout.toNanos();
  }

  @Override
  public void handle(ProxyExchange exchange) {
    HttpHeaders headers = exchange.request().headers();
    long timeout = GrpcCall.isGrpc(headers.get(HttpHeaderNames.CONTENT_TYPE)) ? parse(headers.get(GRPC_TIMEOUT)) : -1;
    if (timeout < 0) {
      next.handle(exchange);
      return;
    }
    if (upstreamTimeoutNanos > 0 && upstreamTimeoutNanos < timeout) {
      headers.set(GRPC_TIMEOUT, Math.max(1, TimeUnit.NANOSECONDS.toMillis(upstreamTimeoutNanos)) + "m");
    } else {
      long left = Math.max(0, timeout - (System.nanoTime() - exchange.startNanos()));
      ScheduledFuture<?> timer = exchange.eventLoop().schedule(() -> expired(exchange, timeout), left, TimeUnit.NANOSECONDS);
      exchange.onComplete(() -> timer.cancel(false));
    }
    next.handle(exchange);
  }

  private static void expired(ProxyExchange exchange, long timeoutNanos) {
    if (!exchange.isComplete()) {
      exchange.fail(ResponseFlag.UPSTREAM_TIMEOUT, 504,
          "grpc-timeout of " + Duration.ofNanos(timeoutNanos).toMillis() + " ms passed");
    }
  }

  /** Nanoseconds of a {@code grpc-timeout} value, or -1 when absent or malformed (then it is ignored). */
  static long parse(String value) {
    if (value == null || value.length() < 2 || value.length() > 9) {
      return -1;
    }
    long amount = 0;
    for (int i = 0; i < value.length() - 1; i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      amount = amount * 10 + (c - '0');
    }
    if (amount > MAX_VALUE) {
      return -1;
    }
    switch (value.charAt(value.length() - 1)) {
      case 'H':
        return TimeUnit.HOURS.toNanos(amount);
      case 'M':
        return TimeUnit.MINUTES.toNanos(amount);
      case 'S':
        return TimeUnit.SECONDS.toNanos(amount);
      case 'm':
        return TimeUnit.MILLISECONDS.toNanos(amount);
      case 'u':
        return TimeUnit.MICROSECONDS.toNanos(amount);
      case 'n':
        return amount;
      default:
        return -1;
    }
  }
}
