package dev.sidecars.traceinjector.testing;

import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.SameThreadExecutor;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A real HTTP server on a free loopback port that records what reached it and answers as told: a
 * status, after a delay (scheduled on its IO thread, nothing sleeps), or by dropping the connection.
 * {@code POST} bodies are echoed back.
 */
public final class Backend implements AutoCloseable {
  /** How to answer the next requests. */
  public record Behaviour(int status, long delayMillis, boolean dropConnection) {
    public static Behaviour ok() {
      return new Behaviour(200, 0, false);
    }

    public static Behaviour status(int status) {
      return new Behaviour(status, 0, false);
    }

    public static Behaviour slow(long millis) {
      return new Behaviour(200, millis, false);
    }

    public static Behaviour drop() {
      return new Behaviour(0, 0, true);
    }
  }

  /** One request as the backend saw it. */
  public record Seen(String method, String uri, HeaderMap headers) {
    public String header(String name) {
      return headers.getFirst(name);
    }
  }

  private final String name;
  private final Undertow server;
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final AtomicReference<Behaviour> behaviour = new AtomicReference<>(Behaviour.ok());
  private final AtomicReference<java.util.function.Consumer<HttpServerExchange>> observer = new AtomicReference<>(e -> {});

  private Backend(String name) {
    this.name = name;
    this.server = Undertow.builder().addHttpListener(0, "127.0.0.1")
        .setServerOption(io.undertow.UndertowOptions.MAX_ENTITY_SIZE, Long.MAX_VALUE).setHandler(this::handle).build();
    server.start();
  }

  public static Backend start(String name) {
    return new Backend(name);
  }

  private final java.util.concurrent.atomic.AtomicInteger dropsLeft = new java.util.concurrent.atomic.AtomicInteger();

  /** Drops the connection of the next {@code n} requests, then behaves as set. */
  public Backend dropNext(int n) {
    dropsLeft.set(n);
    return this;
  }

  public Backend behave(Behaviour next) {
    behaviour.set(next);
    return this;
  }

  /** Runs for each request before it is answered, e.g. to make a server span. */
  public Backend observe(java.util.function.Consumer<HttpServerExchange> each) {
    observer.set(each);
    return this;
  }

  private void handle(HttpServerExchange exchange) {
    String uri = exchange.getRequestURI() + (exchange.getQueryString().isEmpty() ? "" : "?" + exchange.getQueryString());
    HeaderMap copy = new HeaderMap();
    exchange.getRequestHeaders().forEach(values -> copy.addAll(values.getHeaderName(), values));
    seen.add(new Seen(exchange.getRequestMethod().toString(), uri, copy));
    observer.get().accept(exchange);
    Behaviour b = behaviour.get();
    if (b.dropConnection() || dropsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      org.xnio.IoUtils.safeClose(exchange.getConnection());
      return;
    }
    if (exchange.getRequestMethod().toString().equals("POST")) {
      exchange.dispatch(() -> {
        exchange.startBlocking();
        try {
          answer(exchange, b, exchange.getInputStream().readAllBytes());
        } catch (java.io.IOException e) {
          org.xnio.IoUtils.safeClose(exchange.getConnection());
        }
      });
      return;
    }
    answer(exchange, b, (name + " " + uri).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private void answer(HttpServerExchange exchange, Behaviour b, byte[] body) {
    Runnable send = () -> {
      exchange.setStatusCode(b.status());
      exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/octet-stream");
      exchange.getResponseHeaders().put(io.undertow.util.HttpString.tryFromString("X-Backend"), name);
      exchange.getResponseSender().send(java.nio.ByteBuffer.wrap(body));
    };
    if (b.delayMillis() <= 0) {
      send.run();
    } else {
      exchange.dispatch(SameThreadExecutor.INSTANCE,
          () -> exchange.getIoThread().executeAfter(send, b.delayMillis(), TimeUnit.MILLISECONDS));
    }
  }

  public int port() {
    return ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  public List<Seen> seen() {
    return List.copyOf(seen);
  }

  public Seen last() {
    List<Seen> all = seen();
    return all.get(all.size() - 1);
  }

  @Override
  public void close() {
    server.stop();
  }

  /** A loopback port nothing listens on (it was bound and released). */
  public static int closedPort() {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
