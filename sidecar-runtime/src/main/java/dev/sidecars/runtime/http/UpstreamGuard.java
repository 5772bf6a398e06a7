package dev.sidecars.runtime.http;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * The resilience handler in front of a proxy handler (normally {@link ObservedProxyClient#proxyHandler}).
 * Before forwarding it refuses, with the right status and a {@link ResponseFlag}:
 *
 * <ul>
 *   <li>requests with both {@code Content-Length} and {@code Transfer-Encoding} (smuggling): 400, connection closed;
 *   <li>request lines and headers larger than {@link Limits#maxHeaderBytes()}: 431 (set the server's own
 *       header limit above it, as Undertow answers 400 at its own limit);
 *   <li>bodies larger than {@link Limits#maxRequestBytes()}: 413. A {@code Content-Length} above it is
 *       refused before forwarding; a chunked body is counted as it streams ({@link RequestBodyGuard}), and
 *       when it passes the limit the app's connection is aborted (so the app never takes the cut body for
 *       a complete one) and the client gets 413 with {@code Connection: close} if its response has not
 *       started, else its connection is closed. On malformed chunking that Undertow's decoder rejects,
 *       the decoder closes the client connection itself; the app's connection is aborted the same way.
 *       Set {@code UndertowOptions.MAX_ENTITY_SIZE} to -1 on the server: Undertow's own limit (2 MiB by
 *       default) would end a cut chunked body as if it were complete;
 *   <li>requests beyond the {@link ConcurrencyLimit}: 503 with {@code x-sidecar-overloaded: true};
 *   <li>requests while the {@link CircuitBreaker} is open: 503 with {@code x-sidecar-circuit: open}.
 * </ul>
 *
 * It removes hop-by-hop headers in both directions (except what an upgrade needs), and turns the
 * proxy's own failures into the answers a client can act on: upstream refused 502 (not Undertow's 503),
 * upstream reset 502, upstream timeout 504. Upstream failures (refused, reset, timeout) feed the breaker;
 * anything the upstream answered, whatever its status, counts as success.
 */
public final class UpstreamGuard implements HttpHandler {
  /** Set to {@code open} on the 503 the breaker answers. */
  public static final HttpString CIRCUIT_HEADER = new HttpString("x-sidecar-circuit");
  /** Set to {@code true} on the 503 the concurrency limit answers. */
  public static final HttpString OVERLOADED_HEADER = new HttpString("x-sidecar-overloaded");

  private static final HttpString KEEP_ALIVE = new HttpString("Keep-Alive");
  private static final HttpString PROXY_CONNECTION = new HttpString("Proxy-Connection");
  private static final List<HttpString> HOP_BY_HOP =
      List.of(Headers.CONNECTION, KEEP_ALIVE, PROXY_CONNECTION, Headers.TE, Headers.TRAILER, Headers.PROXY_AUTHENTICATE);

  /**
   * Size limits on requests.
   *
   * @param maxHeaderBytes the largest request line plus headers accepted; 0 or less: no limit
   * @param maxRequestBytes the largest request body accepted; 0 or less: no limit
   */
  public record Limits(int maxHeaderBytes, long maxRequestBytes) {
    /** No limits beyond the server's own. */
    public static final Limits NONE = new Limits(0, 0);
  }

  private final HttpHandler next;
  private final CircuitBreaker breaker;
  private final ConcurrencyLimit limit;
  private final int maxHeaderBytes;
  private final long maxRequestBytes;

  /**
   * @param breaker the upstream's breaker, or {@code null} for none
   * @param limit the in-flight bound, or {@code null} for none
   */
  public UpstreamGuard(HttpHandler next, CircuitBreaker breaker, ConcurrencyLimit limit, Limits limits) {
    this.next = next;
    this.breaker = breaker;
    this.limit = limit;
    this.maxHeaderBytes = limits.maxHeaderBytes();
    this.maxRequestBytes = limits.maxRequestBytes();
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    ExchangeOutcome outcome = ExchangeOutcome.of(exchange);
    HeaderMap request = exchange.getRequestHeaders();
    if (request.contains(Headers.CONTENT_LENGTH) && request.contains(Headers.TRANSFER_ENCODING)) {
      exchange.setPersistent(false); // the body's end is ambiguous, so nothing after it can be trusted
      refuse(exchange, outcome, ResponseFlag.BAD_REQUEST, 400, "both Content-Length and Transfer-Encoding", null);
      return;
    }
    if (maxHeaderBytes > 0 && headerBytes(exchange) > maxHeaderBytes) {
      exchange.setPersistent(false);
      refuse(exchange, outcome, ResponseFlag.BAD_REQUEST, 431, "request header fields too large", null);
      return;
    }
    if (maxRequestBytes > 0 && exchange.getRequestContentLength() > maxRequestBytes) {
      exchange.setPersistent(false); // the unread body is not drained
      refuse(exchange, outcome, ResponseFlag.REQUEST_TOO_LARGE, 413, "request body too large", null);
      return;
    }
    if (limit != null && !limit.tryAcquire()) {
      refuse(exchange, outcome, ResponseFlag.OVERLOAD, 503, "too many requests in flight", OVERLOADED_HEADER, "true");
      return;
    }
    CircuitBreaker.Permit permit = breaker == null ? null : breaker.tryAcquire();
    if (breaker != null && permit == null) {
      if (limit != null) {
        limit.release();
      }
      refuse(exchange, outcome, ResponseFlag.CIRCUIT_OPEN, 503, "upstream circuit open", CIRCUIT_HEADER, "open");
      return;
    }
    if (request.contains(Headers.TRANSFER_ENCODING)) {
      // A chunked body streams upstream as it arrives, so its size and framing are only known on the way.
      exchange.addRequestWrapper((factory, ex) -> new RequestBodyGuard(factory.create(), ex, outcome, maxRequestBytes));
    }
    // exchange.isUpgrade() only turns true with the 101, so look at the request itself.
    removeHopByHop(request, request.contains(Headers.UPGRADE));
    exchange.addResponseCommitListener(ex -> classify(ex, outcome));
    exchange.addExchangeCompleteListener(
        (ex, nextListener) -> {
          try {
            if (limit != null) {
              limit.release();
            }
            if (permit != null) {
              classify(ex, outcome); // a response that never committed still has an outcome
              if (outcome.flag().map(ResponseFlag::isUpstreamFailure).orElse(false)) {
                permit.onFailure();
              } else {
                permit.onSuccess();
              }
            }
          } finally {
            nextListener.proceed();
          }
        });
    next.handleRequest(exchange);
  }

  /** Names the proxy's own failure, and gives it its status, once the response is about to start. */
  private static void classify(HttpServerExchange exchange, ExchangeOutcome outcome) {
    ResponseFlag bodyFault = outcome.flag()
        .filter(f -> f == ResponseFlag.REQUEST_TOO_LARGE || f == ResponseFlag.BAD_REQUEST).orElse(null);
    if (bodyFault != null) {
      if (!exchange.isResponseStarted()) {
        // RequestBodyGuard failed the body on its way upstream and Undertow's proxy answers its own error
        // (500): give the client the reason instead. What the app may have answered already is not relayed.
        exchange.getResponseHeaders().clear();
        exchange.setStatusCode(bodyFault == ResponseFlag.REQUEST_TOO_LARGE ? 413 : 400);
        exchange.setPersistent(false);
        exchange.getResponseHeaders().put(Headers.CONNECTION, "close");
      }
      return;
    }
    if (outcome.upstreamResponded()) {
      if (exchange.getStatusCode() != 101) {
        removeHopByHop(exchange.getResponseHeaders(), false);
      }
      return;
    }
    int status = exchange.getStatusCode();
    if (outcome.flag().isEmpty()) {
      if (status == 504) {
        outcome.flag(ResponseFlag.UPSTREAM_TIMEOUT);
      } else if (status == 503 || status == 500) {
        outcome.flag(outcome.upstreamStarted() ? ResponseFlag.UPSTREAM_RESET : ResponseFlag.UPSTREAM_REFUSED);
      }
    }
    ResponseFlag flag = outcome.flag().orElse(null);
    if (!exchange.isResponseStarted()
        && (flag == ResponseFlag.UPSTREAM_REFUSED || flag == ResponseFlag.UPSTREAM_RESET)
        && status != 502) {
      exchange.setStatusCode(502);
    }
  }

  private static void refuse(
      HttpServerExchange exchange, ExchangeOutcome outcome, ResponseFlag flag, int status, String reason, HttpString header, String... value) {
    outcome.flag(flag);
    exchange.setStatusCode(status);
    if (header != null) {
      exchange.getResponseHeaders().put(header, value[0]);
    }
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
    exchange.getResponseSender().send(reason + "\n", StandardCharsets.UTF_8);
  }

  private static void refuse(
      HttpServerExchange exchange, ExchangeOutcome outcome, ResponseFlag flag, int status, String reason, HttpString header) {
    refuse(exchange, outcome, flag, status, reason, header, (String) null);
  }

  /** The request line and header fields as sent, give or take whitespace. */
  private static long headerBytes(HttpServerExchange exchange) {
    long bytes = exchange.getRequestMethod().length() + exchange.getRequestURI().length()
        + exchange.getQueryString().length() + 12;
    for (var values : exchange.getRequestHeaders()) {
      int name = values.getHeaderName().length() + 4;
      for (String value : values) {
        bytes += name + value.length();
      }
    }
    return bytes;
  }

  /** RFC 9110 section 7.6.1: the fixed hop-by-hop headers and those named in {@code Connection}. */
  private static void removeHopByHop(HeaderMap headers, boolean upgrade) {
    var connection = headers.get(Headers.CONNECTION);
    if (connection != null) {
      for (String value : connection) {
        for (String token : value.split(",")) {
          String name = token.trim();
          if (!name.isEmpty() && !(upgrade && name.toLowerCase(Locale.ROOT).equals("upgrade"))) {
            headers.remove(name);
          }
        }
      }
    }
    for (HttpString name : HOP_BY_HOP) {
      if (!(upgrade && name.equals(Headers.CONNECTION))) {
        headers.remove(name);
      }
    }
  }
}
