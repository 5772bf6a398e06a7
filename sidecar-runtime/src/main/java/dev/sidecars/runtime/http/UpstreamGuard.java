package dev.sidecars.runtime.http;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The resilience handler in front of Undertow's {@code ProxyHandler} over an {@link ObservedProxyClient}
 * (trace-injector; metrics-proxy's data plane has {@code dev.sidecars.runtime.proxy.ExchangeGuard}).
 * Before forwarding it refuses, with the right status and a {@link ResponseFlag}:
 *
 * <ul>
 *   <li>request targets with control characters (NUL, CR, LF...): 400, connection closed;
 *   <li>requests with both {@code Content-Length} and {@code Transfer-Encoding} (smuggling), with a {@code
 *       Transfer-Encoding} other than exactly {@code chunked} (Undertow's decoder would read {@code xchunked} or
 *       {@code chunked, identity} as chunked and the app may not: RFC 9112 section 6.1 says 400), or with a
 *       body on a {@code GET} (which Undertow's parser does not read, so its bytes would be taken for the
 *       next request): 400, connection closed;
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
 *   <li>bodies whose client stops sending for {@link Limits#bodyTimeout()} while the proxy waits for them:
 *       408 with {@code Connection: close} if the response has not started ({@link RequestBodyGuard});
 *   <li>requests beyond the {@link ConcurrencyLimit}: 503 with {@code x-sidecar-overloaded: true};
 *   <li>requests while the {@link CircuitBreaker} is open: 503 with {@code x-sidecar-circuit: open}.
 * </ul>
 *
 * It removes hop-by-hop headers in both directions (except what an upgrade needs), and turns the
 * proxy's own failures into the answers a client can act on: upstream refused 502 (not Undertow's 503),
 * upstream reset 502, a response that cannot be framed 502, upstream timeout 504. Upstream failures (refused, reset, timeout) feed the breaker;
 * anything the upstream answered, whatever its status, counts as success.
 */
public final class UpstreamGuard implements HttpHandler {
  /** Set to {@code open} on the 503 the breaker answers. */
  public static final HttpString CIRCUIT_HEADER = new HttpString("x-sidecar-circuit");
  /** Set to {@code true} on the 503 the concurrency limit answers. */
  public static final HttpString OVERLOADED_HEADER = new HttpString("x-sidecar-overloaded");

  /** The status recorded for a request whose client went away before it was answered (nginx's 499). */
  public static final int CLIENT_CLOSED_REQUEST = 499;

  private static final HttpString KEEP_ALIVE = new HttpString("Keep-Alive");
  private static final HttpString PROXY_CONNECTION = new HttpString("Proxy-Connection");
  private static final List<HttpString> HOP_BY_HOP =
      List.of(Headers.CONNECTION, KEEP_ALIVE, PROXY_CONNECTION, Headers.TE, Headers.TRAILER, Headers.PROXY_AUTHENTICATE);

  /**
   * Size limits on requests.
   *
   * @param maxHeaderBytes the largest request line plus headers accepted; 0 or less: no limit
   * @param maxRequestBytes the largest request body accepted; 0 or less: no limit
   * @param bodyTimeout how long the client may keep the proxy waiting for its body's next bytes; zero: no limit
   */
  public record Limits(int maxHeaderBytes, long maxRequestBytes, Duration bodyTimeout) {
    /** No limits beyond the server's own. */
    public static final Limits NONE = new Limits(0, 0, Duration.ZERO);
  }

  private final HttpHandler next;
  private final CircuitBreaker breaker;
  private final ConcurrencyLimit limit;
  private final int maxHeaderBytes;
  private final long maxRequestBytes;
  private final Duration bodyTimeout;

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
    this.bodyTimeout = limits.bodyTimeout();
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    ExchangeOutcome outcome = ExchangeOutcome.of(exchange);
    if (hasControlCharacter(exchange.getRequestURI()) || hasControlCharacter(exchange.getQueryString())) {
      exchange.setPersistent(false);
      refuse(exchange, outcome, ResponseFlag.BAD_REQUEST, 400, "control characters in the request target", null);
      return;
    }
    HeaderMap request = exchange.getRequestHeaders();
    HeaderValues transferEncoding = request.get(Headers.TRANSFER_ENCODING);
    String framing = transferEncoding == null && exchange.getRequestContentLength() <= 0 ? null : framingProblem(exchange, transferEncoding);
    if (framing != null) {
      exchange.setPersistent(false); // the body's end is ambiguous, so nothing after it can be trusted
      refuse(exchange, outcome, ResponseFlag.BAD_REQUEST, 400, framing, null);
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
    if (transferEncoding != null || (!bodyTimeout.isZero() && exchange.getRequestContentLength() > 0)) {
      // A chunked body streams upstream as it arrives, so its size and framing are only known on the way; any
      // body may stall on the way.
      exchange.addRequestWrapper((factory, ex) -> new RequestBodyGuard(factory.create(), ex, outcome, maxRequestBytes, bodyTimeout));
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
        .filter(f -> f == ResponseFlag.REQUEST_TOO_LARGE || f == ResponseFlag.BAD_REQUEST || f == ResponseFlag.REQUEST_BODY_TIMEOUT)
        .orElse(null);
    if (bodyFault != null) {
      if (!exchange.isResponseStarted()) {
        // RequestBodyGuard failed the body on its way upstream and Undertow's proxy answers its own error
        // (500): give the client the reason instead. What the app may have answered already is not relayed.
        exchange.getResponseHeaders().clear();
        exchange.setStatusCode(switch (bodyFault) {
          case REQUEST_TOO_LARGE -> 413;
          case REQUEST_BODY_TIMEOUT -> 408;
          default -> 400;
        });
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
    if (outcome.flag().isEmpty() && !exchange.getConnection().isOpen()) {
      // The client went away mid-request: Undertow's proxy gives up with an error of its own, not the upstream's.
      outcome.flag(ResponseFlag.CLIENT_DISCONNECTED);
    }
    if (outcome.flag().orElse(null) == ResponseFlag.CLIENT_DISCONNECTED) {
      // Nobody reads this answer; recorded as nginx does (499), not as a server error.
      exchange.setStatusCode(CLIENT_CLOSED_REQUEST);
      return;
    }
    if (outcome.flag().isEmpty()) {
      if (status == 504) {
        outcome.flag(ResponseFlag.UPSTREAM_TIMEOUT);
      } else if (status == 503 || status == 500) {
        outcome.flag(outcome.isUpstreamProtocolError() ? ResponseFlag.UPSTREAM_PROTOCOL_ERROR
            : outcome.upstreamStarted() ? ResponseFlag.UPSTREAM_RESET : ResponseFlag.UPSTREAM_REFUSED);
      }
    }
    ResponseFlag flag = outcome.flag().orElse(null);
    if (!exchange.isResponseStarted()
        && (flag == ResponseFlag.UPSTREAM_REFUSED || flag == ResponseFlag.UPSTREAM_RESET || flag == ResponseFlag.UPSTREAM_PROTOCOL_ERROR)
        && status != 502) {
      exchange.setStatusCode(502);
    }
    if (flag == ResponseFlag.UPSTREAM_PROTOCOL_ERROR) {
      // Whatever the upstream meant to send is gone with its connection; start the client's over too.
      exchange.setPersistent(false);
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

  /**
   * Why the body of a request that has one cannot be framed unambiguously, or {@code null} when it can. Only
   * called when a {@code Transfer-Encoding} or a {@code Content-Length} above zero is present.
   */
  private static String framingProblem(HttpServerExchange exchange, HeaderValues transferEncoding) {
    if (transferEncoding == null) {
      return exchange.getRequestMethod().equals(Methods.GET) ? "a GET request with a body" : null;
    }
    if (exchange.getRequestHeaders().contains(Headers.CONTENT_LENGTH)) {
      return "both Content-Length and Transfer-Encoding";
    }
    if (transferEncoding.size() != 1 || !transferEncoding.getFirst().trim().equalsIgnoreCase("chunked")) {
      return "Transfer-Encoding must be exactly chunked";
    }
    return exchange.getRequestMethod().equals(Methods.GET) ? "a GET request with a body" : null;
  }

  /**
   * Whether {@code text} holds a control character (NUL, CR, LF, the rest of C0, DEL). With {@code
   * ALLOW_UNESCAPED_CHARACTERS_IN_URL} set, which lets through what real clients send unencoded ({@code |},
   * a lone {@code %}), Undertow's parser passes these too; no app should get them.
   */
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
