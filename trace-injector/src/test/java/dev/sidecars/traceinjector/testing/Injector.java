package dev.sidecars.traceinjector.testing;

import dev.sidecars.runtime.Sidecar;
import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.traceinjector.TraceInjector;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The trace-injector started in this JVM on free loopback ports (the real runtime: settings, telemetry,
 * admin server), with a clock the test moves, and clients for the three ways an app calls it.
 */
public final class Injector implements AutoCloseable {
  /** How far the sidecar's clock is ahead of the real one; tests move it to end ejections and breaker waits. */
  private final AtomicLong ahead = new AtomicLong();
  private final Sidecar sidecar;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final HttpClient viaProxy;

  private Injector(Map<String, String> env, java.util.function.IntUnaryOperator random) {
    this(env, random, java.net.InetAddress::getByName);
  }

  private Injector(Map<String, String> env, java.util.function.IntUnaryOperator random, HostResolver.Lookup lookup) {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("PROXY_PORT", "0");
    all.put("ADMIN_PORT", "0");
    all.put("BIND_ADDRESS", "127.0.0.1");
    all.put("OTEL_SERVICE_NAME", "checkout");
    all.put("OTEL_TRACES_EXPORTER", "none");
    all.put("OTEL_METRICS_EXPORTER", "none");
    all.put("OTEL_LOGS_EXPORTER", "none");
    all.put("RETRY_BACKOFF", "1ms");
    all.putAll(env);
    try {
      sidecar = Sidecar.start(new TraceInjector(() -> System.nanoTime() + ahead.get(), () -> 1.0, random, lookup), all);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    viaProxy = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", port()))).build();
  }

  public static Injector start(Map<String, String> env) {
    return new Injector(env, n -> java.util.concurrent.ThreadLocalRandom.current().nextInt(n));
  }

  /** With host names looked up by {@code lookup} instead of the system's resolver (slow, failing, any address). */
  public static Injector startWithLookup(Map<String, String> env, HostResolver.Lookup lookup) {
    return new Injector(env, n -> java.util.concurrent.ThreadLocalRandom.current().nextInt(n), lookup);
  }

  /** With the balancer's random picks fixed to the first candidates, so the order of URLs decides. */
  public static Injector startFirstPick(Map<String, String> env) {
    return new Injector(env, n -> 0);
  }

  public int port() {
    return sidecar.ports().get("proxy");
  }

  public int adminPort() {
    return sidecar.ports().get("admin");
  }

  public void advance(Duration by) {
    ahead.addAndGet(by.toNanos());
  }

  /** Path-prefix form: {@code http://127.0.0.1:<port>/<service><path>}. */
  public HttpResponse<String> get(String serviceAndPath, String... headers) {
    return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + serviceAndPath)).GET(), headers);
  }

  public HttpResponse<String> post(String serviceAndPath, byte[] body, String... headers) {
    return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + serviceAndPath))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)), headers);
  }

  private HttpResponse<String> send(HttpRequest.Builder builder, String... headers) {
    for (int i = 0; i < headers.length; i += 2) {
      builder.header(headers[i], headers[i + 1]);
    }
    try {
      return client.send(builder.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Forward-proxy form: the JDK client sends an absolute-form request to the sidecar. */
  public HttpResponse<String> getViaProxy(String absoluteUrl) {
    try {
      return viaProxy.send(HttpRequest.newBuilder(URI.create(absoluteUrl)).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Raw HTTP/1.1 over a socket, for what the JDK client will not send (its own Host, CONNECT). */
  public String raw(String request) {
    try (Socket socket = new Socket("127.0.0.1", port())) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String tunnel(String target, String inner) {
    return tunnel(port(), target, inner);
  }

  /**
   * Opens a CONNECT tunnel through the proxy on {@code port}; once it is open (200), sends {@code inner}
   * through it. Returns everything read: only the refusal when it is refused.
   */
  public static String tunnel(int port, String target, String inner) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      out.write(("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int c = in.read();
        if (c < 0) {
          return head.toString();
        }
        head.append((char) c);
      }
      if (!head.toString().startsWith("HTTP/1.1 200")) {
        return head.toString();
      }
      out.write(inner.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return head + new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The Prometheus text of the admin port's {@code /metrics}. */
  public String metrics() {
    return sidecar.registry().scrape();
  }

  /** The value of one Prometheus series whose line starts with {@code prefix}, or 0. */
  public double metric(String prefix) {
    return metrics().lines().filter(l -> l.startsWith(prefix)).findFirst()
        .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).orElse(0.0);
  }

  @Override
  public void close() {
    sidecar.close();
  }
}
