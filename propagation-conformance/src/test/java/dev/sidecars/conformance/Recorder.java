package dev.sidecars.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real HTTP server on a free loopback port standing for the app behind a proxy: it remembers the
 * header lines of each request by path and answers 200. Told to, it acts as a plain header-forwarding
 * app (as the W3C test service does): before answering it calls {@code onward} through another proxy
 * with every header it received except the hop's own.
 */
final class Recorder implements AutoCloseable {
  private static final Set<String> HOP_HEADERS = Set.of("host", "connection", "keep-alive", "content-length",
      "transfer-encoding", "te", "trailer", "upgrade", "expect", "forwarded", "proxy-connection");

  private final Undertow server;
  private final Map<String, Forwarded> seen = new ConcurrentHashMap<>();
  private volatile RawClient onward;
  private volatile String onwardPrefix;

  private Recorder() {
    server = Undertow.builder().addHttpListener(0, "127.0.0.1").setHandler(this::handle).build();
    server.start();
  }

  static Recorder start() {
    return new Recorder();
  }

  /** From now on, each request is passed on through the proxy on {@code port}, under {@code prefix}. */
  Recorder forwardingTo(int port, String prefix) {
    onward = new RawClient(port);
    onwardPrefix = prefix;
    return this;
  }

  private void handle(HttpServerExchange exchange) {
    if (exchange.isInIoThread()) {
      exchange.dispatch(this::handle);
      return;
    }
    List<Line> lines = new ArrayList<>();
    for (HeaderValues values : exchange.getRequestHeaders()) {
      for (String value : values) {
        lines.add(new Line(values.getHeaderName().toString(), value));
      }
    }
    String path = exchange.getRequestPath();
    seen.put(path, new Forwarded(List.copyOf(lines)));
    RawClient next = onward;
    if (next != null) {
      List<Line> passed = lines.stream()
          .filter(l -> !HOP_HEADERS.contains(l.name().toLowerCase(Locale.ROOT))
              && !l.name().toLowerCase(Locale.ROOT).startsWith("x-forwarded-"))
          .toList();
      RawClient.Response response;
      synchronized (next) {
        response = next.get(onwardPrefix + path, passed);
      }
      exchange.setStatusCode(response.status());
    }
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain");
    exchange.getResponseSender().send("ok " + path);
  }

  /** The lines the request to {@code path} arrived with. */
  Forwarded seen(String path) {
    Forwarded forwarded = seen.get(path);
    assertThat(forwarded).as("a request for %s reached the app", path).isNotNull();
    return forwarded;
  }

  String url() {
    return "http://127.0.0.1:" + ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
  }

  @Override
  public void close() {
    if (onward != null) {
      onward.close();
    }
    server.stop();
  }
}
