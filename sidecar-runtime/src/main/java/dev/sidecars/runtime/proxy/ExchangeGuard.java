package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.CircuitBreaker;
import dev.sidecars.runtime.http.ConcurrencyLimit;
import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.rpc.GrpcCall;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.AsciiString;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The resilience decorator in front of the {@link Forwarder}. Before forwarding it refuses, with the right
 * status and a {@link ResponseFlag}:
 *
 * <ul>
 *   <li>request heads the HTTP/1.1 decoder could not read (400), or whose line or headers are over its
 *       limit (431); control characters (NUL, CR, LF, the rest of C0, DEL) in the request target: 400,
 *       connection closed;
 *   <li>HTTP/1.1 bodies whose end could be read two ways (request smuggling): {@code Content-Length} with
 *       {@code Transfer-Encoding}, a {@code Transfer-Encoding} other than exactly {@code chunked} (RFC 9112
 *       section 6.1), a {@code GET} with a body: 400, connection closed;
 *   <li>request lines and headers larger than {@link Limits#maxHeaderBytes()}: 431;
 *   <li>bodies larger than {@link Limits#maxRequestBytes()}: 413, a {@code Content-Length} above it before
 *       anything is forwarded, a streamed body when it passes the limit (the upstream is cut mid-body, so it
 *       never takes the part it got for a whole body);
 *   <li>bodies whose client stops sending for {@link Limits#bodyTimeout()} while the proxy waits for them
 *       (not while the upstream is slow to take them; not in a gRPC call the upstream has started to
 *       answer, where a quiet client stream is normal): 408 with {@code Connection: close};
 *   <li>requests beyond the {@link ConcurrencyLimit}: 503 with {@code x-sidecar-overloaded: true};
 *   <li>requests while the {@link CircuitBreaker} is open: 503 with {@code x-sidecar-circuit: open}.
 * </ul>
 *
 * It removes hop-by-hop headers in both directions (except what an upgrade needs, and {@code te: trailers}
 * on HTTP/2 and gRPC requests, which gRPC requires). Upstream failures (refused, reset, timeout, a response
 * that cannot be framed) feed the breaker; anything the upstream answered, whatever its status, counts as
 * success.
 */
public final class ExchangeGuard implements ExchangeHandler {
  /** Set to {@code open} on the 503 the breaker answers. */
  public static final AsciiString CIRCUIT_HEADER = AsciiString.cached("x-sidecar-circuit");
  /** Set to {@code true} on the 503 the concurrency limit answers. */
  public static final AsciiString OVERLOADED_HEADER = AsciiString.cached("x-sidecar-overloaded");

  private static final AsciiString PROXY_CONNECTION = AsciiString.cached("proxy-connection");
  private static final List<AsciiString> HOP_BY_HOP = List.of(HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE,
      PROXY_CONNECTION, HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.PROXY_AUTHENTICATE);
  private static final AsciiString GRPC = AsciiString.cached("application/grpc");
  private static final HttpHeaders CIRCUIT_OPEN = headers(CIRCUIT_HEADER, "open");
  private static final HttpHeaders OVERLOADED = headers(OVERLOADED_HEADER, "true");

  /**
   * Size and time limits on requests.
   *
   * @param maxHeaderBytes the largest request line plus headers accepted; 0 or less: no limit
   * @param maxRequestBytes the largest request body accepted; 0 or less: no limit
   * @param bodyTimeout how long the client may keep the proxy waiting for its body's next bytes; zero: no limit
   */
  public record Limits(int maxHeaderBytes, long maxRequestBytes, Duration bodyTimeout) {
    /** No limits beyond the server's own. */
    public static final Limits NONE = new Limits(0, 0, Duration.ZERO);
  }

  private final ExchangeHandler next;
  private final CircuitBreaker breaker;
  private final ConcurrencyLimit limit;
  private final Limits limits;
  private final long bodyTimeoutNanos;

  /**
   * @param breaker the upstream's breaker, or {@code null} for none
   * @param limit the in-flight bound, or {@code null} for none
   */
  public ExchangeGuard(ExchangeHandler next, CircuitBreaker breaker, ConcurrencyLimit limit, Limits limits) {
    this.next = next;
    this.breaker = breaker;
    this.limit = limit;
    this.limits = limits;
    this.bodyTimeoutNanos = limits.bodyTimeout().toNanos();
  }

  @Override
  public void handle(ProxyExchange exchange) {
    HttpRequest request = exchange.request();
    int unreadable = RequestProblems.status(request);
    if (unreadable != 0) {
      refuse(exchange, ResponseFlag.BAD_REQUEST, unreadable, RequestProblems.reason(request));
      return;
    }
    if (hasControlCharacter(request.uri())) {
      refuse(exchange, ResponseFlag.BAD_REQUEST, 400, "control characters in the request target");
      return;
    }
    HttpHeaders headers = request.headers();
    String framing = exchange.isHttp2() ? null : framingProblem(request, headers);
    if (framing != null) {
      refuse(exchange, ResponseFlag.BAD_REQUEST, 400, framing); // the body's end is ambiguous: nothing after it can be trusted
      return;
    }
    if (exchange.isHttp2() && limits.maxHeaderBytes() > 0 && headerBytes(request) > limits.maxHeaderBytes()) {
      // (HTTP/1.1 heads are held to the same limit by the listener's decoder: 431 above.)
      refuse(exchange, ResponseFlag.BAD_REQUEST, 431, "request header fields too large");
      return;
    }
    long maxBody = limits.maxRequestBytes();
    if (maxBody > 0 && HttpUtil.getContentLength(request, -1L) > maxBody) {
      refuse(exchange, ResponseFlag.REQUEST_TOO_LARGE, 413, "request body too large"); // the unread body is not drained
      return;
    }
    if (limit != null && !limit.tryAcquire()) {
      exchange.flag(ResponseFlag.OVERLOAD);
      exchange.respond(503, "too many requests in flight", OVERLOADED);
      return;
    }
    CircuitBreaker.Permit permit = breaker == null ? null : breaker.tryAcquire();
    if (breaker != null && permit == null) {
      if (limit != null) {
        limit.release();
      }
      exchange.flag(ResponseFlag.CIRCUIT_OPEN);
      exchange.respond(503, "upstream circuit open", CIRCUIT_OPEN);
      return;
    }
    if (!exchange.requestComplete()) {
      if (maxBody > 0) {
        // A body without a declared length (chunked, HTTP/2) is counted as it streams.
        exchange.onRequestBody((ex, bytes, last) -> {
          if (ex.requestBodyBytes() > maxBody) {
            ex.fail(ResponseFlag.REQUEST_TOO_LARGE, 413, "request body too large");
          }
        });
      }
      if (bodyTimeoutNanos > 0) {
        boolean grpc = GrpcCall.isGrpc(headers.get(HttpHeaderNames.CONTENT_TYPE));
        BodyTimer timer = new BodyTimer(exchange, grpc);
        timer.schedule(bodyTimeoutNanos);
        // The timer holds the exchange (its streams, span, buffers): left to fire, it would keep every
        // finished exchange of the last REQUEST_BODY_TIMEOUT in the heap.
        exchange.onComplete(timer::cancel);
      }
    }
    boolean upgrade = !exchange.isHttp2() && headers.contains(HttpHeaderNames.UPGRADE);
    boolean keepTrailersTe = exchange.isHttp2() || startsWith(headers.get(HttpHeaderNames.CONTENT_TYPE), GRPC);
    removeHopByHop(headers, upgrade, keepTrailersTe);
    exchange.onResponseHead(ExchangeGuard::responseHead);
    exchange.onComplete(() -> {
      if (limit != null) {
        limit.release();
      }
      if (permit != null) {
        ResponseFlag flag = exchange.flag();
        if (flag != null && flag.isUpstreamFailure()) {
          permit.onFailure();
        } else {
          permit.onSuccess();
        }
      }
    });
    next.handle(exchange);
  }

  private static void responseHead(ProxyExchange exchange, HttpResponse response) {
    if (exchange.upstreamResponded() && response.status().code() != 101) {
      removeHopByHop(response.headers(), false, true);
    }
  }

  /** Every body timeout: fails the exchange when the proxy has waited for the client's bytes all that time. */
  private final class BodyTimer {
    private final ProxyExchange exchange;
    private final boolean grpc;
    private ScheduledFuture<?> pending;
    private boolean cancelled;

    BodyTimer(ProxyExchange exchange, boolean grpc) {
      this.exchange = exchange;
      this.grpc = grpc;
    }

    // Scheduling, firing and cancelling all run on the exchange's event loop.
    void schedule(long delayNanos) {
      if (!cancelled) {
        pending = exchange.eventLoop().schedule(this::check, delayNanos, TimeUnit.NANOSECONDS);
      }
    }

    void cancel() {
      cancelled = true;
      if (pending != null) {
        pending.cancel(false);
        pending = null;
      }
    }

    private void check() {
      pending = null;
      if (exchange.isComplete() || exchange.requestComplete()) {
        return;
      }
      if (grpc && exchange.upstreamResponded()) {
        // A streaming call the app has answered is a conversation: a client quiet for a while is normal there.
        return;
      }
      long waited = exchange.requestBodyWaitNanos(System.nanoTime());
      if (waited >= bodyTimeoutNanos) {
        exchange.fail(ResponseFlag.REQUEST_BODY_TIMEOUT, 408,
            "no request body bytes for " + Duration.ofNanos(bodyTimeoutNanos).toMillis() + " ms");
        return;
      }
      schedule(bodyTimeoutNanos - waited);
    }
  }

  private static void refuse(ProxyExchange exchange, ResponseFlag flag, int status, String reason) {
    exchange.flag(flag);
    exchange.closeConnection();
    exchange.respond(status, reason, null);
  }

  /** Why the body of an HTTP/1.1 request cannot be framed unambiguously, or {@code null} when it can. */
  private static String framingProblem(HttpRequest request, HttpHeaders headers) {
    List<String> transferEncoding = headers.getAll(HttpHeaderNames.TRANSFER_ENCODING);
    if (transferEncoding.isEmpty()) {
      return request.method() == HttpMethod.GET && HttpUtil.getContentLength(request, 0L) > 0 ? "a GET request with a body" : null;
    }
    if (headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
      return "both Content-Length and Transfer-Encoding";
    }
    if (transferEncoding.size() != 1 || !transferEncoding.get(0).trim().equalsIgnoreCase("chunked")) {
      return "Transfer-Encoding must be exactly chunked";
    }
    return request.method() == HttpMethod.GET ? "a GET request with a body" : null;
  }

  /** Whether {@code text} holds a control character (NUL, CR, LF, the rest of C0, DEL). */
  private static boolean hasControlCharacter(String text) {
    for (int i = 0, n = text.length(); i < n; i++) {
      char c = text.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        return true;
      }
    }
    return false;
  }

  /** The request line and header fields as sent, give or take whitespace. */
  private static long headerBytes(HttpRequest request) {
    long bytes = request.method().name().length() + request.uri().length() + 12;
    for (Map.Entry<String, String> header : request.headers()) {
      bytes += header.getKey().length() + header.getValue().length() + 4;
    }
    return bytes;
  }

  /** RFC 9110 section 7.6.1: the fixed hop-by-hop headers and those named in {@code Connection}. */
  private static void removeHopByHop(HttpHeaders headers, boolean upgrade, boolean keepTrailersTe) {
    List<String> connection = headers.getAll(HttpHeaderNames.CONNECTION);
    for (int i = 0; i < connection.size(); i++) {
      for (String token : connection.get(i).split(",")) {
        String name = token.trim();
        if (!name.isEmpty() && !(upgrade && name.equalsIgnoreCase("upgrade"))
            && !(keepTrailersTe && name.equalsIgnoreCase("te"))) {
          headers.remove(name);
        }
      }
    }
    for (int i = 0; i < HOP_BY_HOP.size(); i++) {
      AsciiString name = HOP_BY_HOP.get(i);
      if (upgrade && name == HttpHeaderNames.CONNECTION) {
        continue;
      }
      if (keepTrailersTe && name == HttpHeaderNames.TE) {
        String te = headers.get(HttpHeaderNames.TE);
        if (te == null || te.trim().equalsIgnoreCase(HttpHeaderValues.TRAILERS.toString())) {
          continue;
        }
      }
      headers.remove(name);
    }
  }

  private static boolean startsWith(String value, AsciiString prefix) {
    return value != null && value.regionMatches(true, 0, prefix.toString(), 0, prefix.length());
  }

  private static HttpHeaders headers(AsciiString name, String value) {
    return new DefaultHttpHeaders().set(name, value);
  }
}
