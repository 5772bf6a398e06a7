package dev.sidecars.metricsproxy;

import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.HttpContinueAcceptingHandler;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedTextMessage;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The app behind the proxy in tests, a real server on a free port: {@code /echo} returns the request body
 * (status and extra headers from {@code status} and {@code header} query parameters), {@code /slow?ms=}
 * answers late, {@code /stream?chunks=&size=} answers chunked, {@code /fail} answers 500, {@code /ws} echoes
 * WebSocket text, {@code /health} answers {@link #healthStatus}. Every request is remembered, and every
 * {@code /echo}-style body that ended early is listed in {@link #aborted}.
 */
final class TestBackend implements AutoCloseable {
  /** One request as the app saw it. */
  record Seen(String method, String uri, String query, Map<String, List<String>> headers, byte[] body, String protocol) {
    String header(String name) {
      List<String> values = headers.get(name.toLowerCase());
      return values == null ? null : values.get(0);
    }
  }

  final Deque<Seen> seen = new ConcurrentLinkedDeque<>();
  /** Paths whose request body ended early (the connection closed mid-body), so the app never took it as complete. */
  final Deque<String> aborted = new ConcurrentLinkedDeque<>();
  final AtomicInteger healthStatus = new AtomicInteger(200);
  private final Undertow server;

  TestBackend() {
    this(0);
  }

  TestBackend(int port) {
    this(port, false);
  }

  /** With {@code http2}, the app also speaks h2c (prior knowledge and {@code Upgrade: h2c}) on its port. */
  TestBackend(int port, boolean http2) {
    server = Undertow.builder()
        .setServerOption(io.undertow.UndertowOptions.ENABLE_HTTP2, http2)
        .setIoThreads(2)
        .setWorkerThreads(16)
        .setServerOption(io.undertow.UndertowOptions.MAX_ENTITY_SIZE, -1L)
        // An app that takes what real clients send unencoded in a query ({@code |}, {@code {}), and records the
        // request target as it came (with unescaped characters allowed, Undertow would decode it).
        .setServerOption(io.undertow.UndertowOptions.ALLOW_UNESCAPED_CHARACTERS_IN_URL, true)
        .setServerOption(io.undertow.UndertowOptions.DECODE_URL, false)
        .addHttpListener(port, "127.0.0.1")
        .setHandler(Handlers.path()
            .addPrefixPath("/ws", Handlers.websocket((exchange, channel) -> {
              channel.getReceiveSetter().set(new AbstractReceiveListener() {
                @Override
                protected void onFullTextMessage(WebSocketChannel ch, BufferedTextMessage message) {
                  WebSockets.sendText("echo:" + message.getData(), ch, null);
                }
              });
              channel.resumeReceives();
            }))
            .addPrefixPath("/slow", this::slow)
            .addPrefixPath("/stream", this::stream)
            .addPrefixPath("/fail", exchange -> {
              seen.add(new Seen(exchange.getRequestMethod().toString(), exchange.getRequestURI(), exchange.getQueryString(),
                  headers(exchange.getRequestHeaders()), new byte[0], exchange.getProtocol().toString()));
              exchange.setStatusCode(500);
              exchange.getResponseSender().send("boom");
            })
            .addPrefixPath("/health", exchange -> {
              exchange.setStatusCode(healthStatus.get());
              exchange.endExchange();
            })
            .addPrefixPath("/", new HttpContinueAcceptingHandler(this::echo)))
        .build();
    server.start();
  }

  int port() {
    return ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
  }

  String url() {
    return "http://127.0.0.1:" + port();
  }

  private void echo(HttpServerExchange exchange) throws Exception {
    if (exchange.isInIoThread()) {
      exchange.dispatch(this::echo);
      return;
    }
    exchange.startBlocking();
    byte[] body;
    try (InputStream in = exchange.getInputStream()) {
      body = in.readAllBytes();
    } catch (java.io.IOException e) {
      aborted.add(exchange.getRequestURI());
      throw e;
    }
    seen.add(new Seen(exchange.getRequestMethod().toString(), exchange.getRequestURI(), exchange.getQueryString(),
        headers(exchange.getRequestHeaders()), body, exchange.getProtocol().toString()));
    var query = exchange.getQueryParameters();
    if (query.containsKey("status")) {
      exchange.setStatusCode(Integer.parseInt(query.get("status").getFirst()));
    }
    if (query.containsKey("header")) {
      for (String h : query.get("header")) {
        String[] kv = h.split(":", 2);
        exchange.getResponseHeaders().add(new HttpString(kv[0]), kv[1]);
      }
    }
    int status = exchange.getStatusCode();
    if (status == 204 || status == 304 || exchange.getRequestMethod().toString().equals("HEAD")) {
      exchange.endExchange();
      return;
    }
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/octet-stream");
    exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, body.length);
    try (OutputStream out = exchange.getOutputStream()) {
      out.write(body);
    }
  }

  private void slow(HttpServerExchange exchange) {
    long ms = Long.parseLong(exchange.getQueryParameters().getOrDefault("ms", new ArrayDeque1("1000")).getFirst());
    seen.add(new Seen(exchange.getRequestMethod().toString(), exchange.getRequestURI(), exchange.getQueryString(),
        headers(exchange.getRequestHeaders()), new byte[0], exchange.getProtocol().toString()));
    exchange.dispatch(() -> exchange.getIoThread().executeAfter(() -> {
      exchange.getResponseSender().send("slow " + ms);
    }, ms, TimeUnit.MILLISECONDS));
  }

  private void stream(HttpServerExchange exchange) throws Exception {
    if (exchange.isInIoThread()) {
      exchange.dispatch(this::stream);
      return;
    }
    int chunks = Integer.parseInt(exchange.getQueryParameters().get("chunks").getFirst());
    int size = Integer.parseInt(exchange.getQueryParameters().get("size").getFirst());
    exchange.startBlocking();
    byte[] chunk = new byte[size];
    try (OutputStream out = exchange.getOutputStream()) {
      for (int i = 0; i < chunks; i++) {
        java.util.Arrays.fill(chunk, (byte) ('a' + i % 26));
        out.write(chunk);
        out.flush();
      }
    }
  }

  private static Map<String, List<String>> headers(HeaderMap map) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (HeaderValues values : map) {
      out.put(values.getHeaderName().toString().toLowerCase(), new ArrayList<>(values));
    }
    return out;
  }

  /** A one-element deque for getOrDefault on query parameters. */
  private static final class ArrayDeque1 extends java.util.ArrayDeque<String> {
    ArrayDeque1(String value) {
      add(value);
    }
  }

  @Override
  public void close() {
    server.stop();
  }

  static ByteBuffer bytes(String s) {
    return ByteBuffer.wrap(s.getBytes());
  }
}
