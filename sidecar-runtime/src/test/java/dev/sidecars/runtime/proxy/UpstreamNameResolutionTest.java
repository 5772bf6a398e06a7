package dev.sidecars.runtime.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.runtime.http.ResponseFlag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Pooled upstream connections to host names, through a real proxy listener with one event loop to a real
 * app: the name is looked up by the proxy's {@link HostResolver}, off the loop, so an upstream whose lookup
 * hangs holds up only the exchanges waiting for it; a name that does not resolve, or resolves too slowly,
 * is answered 502 flagged {@code DNS_RESOLUTION_FAILED} (for a gRPC call: {@code UNAVAILABLE}), not as a
 * refused connection.
 */
class UpstreamNameResolutionTest {
  private static final String FAILURES = "test.dns.failures";
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final CountDownLatch release = new CountDownLatch(1);
  private final Map<String, AtomicInteger> lookups = new ConcurrentHashMap<>();
  /** The flag of each exchange by request path, {@code -} when the upstream answered. */
  private final Map<String, String> flags = new ConcurrentHashMap<>();
  private HttpServer app;
  private ProxyEventLoops loops;
  private HostResolver resolver;
  private ProxyServer proxy;

  /**
   * The proxy with one event loop, routing {@code /<name>/...} to the app as {@code <name>.test}: {@code
   * blocked.test}'s lookup waits for {@link #release}, {@code missing.test} does not resolve, any other name
   * is 127.0.0.1 at once.
   */
  private void start(Duration connectTimeout) throws IOException {
    app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/", exchange -> {
      byte[] body = ("app " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    app.start();
    int appPort = app.getAddress().getPort();
    resolver = new HostResolver(host -> {
      lookups.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
      if (host.equals("blocked.test")) {
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (host.equals("missing.test")) {
        throw new UnknownHostException(host);
      }
      return InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1});
    }, 2, 4, Duration.ofSeconds(30), Duration.ofSeconds(5), System::nanoTime, meters, FAILURES);
    loops = new ProxyEventLoops(1, "resolution-test-io");
    UpstreamClient client = new UpstreamClient(loops, resolver, connectTimeout, Duration.ofSeconds(60));
    Forwarder forwarder = new Forwarder(client, exchange -> {
      String path = exchange.request().uri();
      String name = path.substring(1, path.indexOf('/', 1));
      return new Forwarder.Destination(new Endpoint(name + ".test", appPort), UpstreamProtocol.AUTO);
    }, Duration.ofSeconds(60));
    ExchangeHandler recorded = exchange -> {
      String path = exchange.request().uri();
      exchange.onResponseHead((ex, response) ->
          flags.put(path, Optional.ofNullable(ex.flag()).map(ResponseFlag::code).orElse("-")));
      forwarder.handle(exchange);
    };
    proxy = ProxyServer.start(new ProxyServer.Settings("127.0.0.1", 0, 64 * 1024, Duration.ofSeconds(10),
        Duration.ofSeconds(60)), new GrpcAnswers(recorded), loops);
  }

  @AfterEach
  void stop() {
    release.countDown();
    if (proxy != null) {
      proxy.close();
    }
    if (loops != null) {
      loops.close();
    }
    if (resolver != null) {
      resolver.close();
    }
    if (app != null) {
      app.stop(0);
    }
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path)).timeout(Duration.ofSeconds(20));
  }

  private HttpResponse<String> get(String path) throws Exception {
    return CLIENT.send(request(path).build(), HttpResponse.BodyHandlers.ofString());
  }

  private double failures(String reason) {
    return meters.get(FAILURES).tag("reason", reason).counter().count();
  }

  @Test
  void anUpstreamWhoseLookupHangsHoldsUpOnlyItsOwnExchanges() throws Exception {
    start(Duration.ofSeconds(30));
    CompletableFuture<HttpResponse<String>> blocked =
        CLIENT.sendAsync(request("/blocked/1").build(), HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(10)).until(() -> lookups.containsKey("blocked.test"));

    // The same event loop serves this exchange while blocked.test is being looked up.
    HttpResponse<String> fast = get("/fast/1");
    assertThat(fast.statusCode()).isEqualTo(200);
    assertThat(fast.body()).isEqualTo("app /fast/1");
    assertThat(blocked).isNotDone();

    release.countDown();
    HttpResponse<String> answered = blocked.get(20, TimeUnit.SECONDS);
    assertThat(answered.statusCode()).isEqualTo(200);
    assertThat(answered.body()).isEqualTo("app /blocked/1");
    assertThat(flags).containsEntry("/blocked/1", "-").containsEntry("/fast/1", "-");
    // The connection is pooled: the next exchange neither looks the name up nor waits.
    assertThat(get("/blocked/2").statusCode()).isEqualTo(200);
    assertThat(lookups.get("blocked.test")).hasValue(1);
  }

  @Test
  void aNameThatDoesNotResolveIsAnswered502FlaggedDnsResolutionFailed() throws Exception {
    start(Duration.ofSeconds(30));
    HttpResponse<String> missing = get("/missing/1");
    assertThat(missing.statusCode()).isEqualTo(502);
    assertThat(missing.body()).contains("missing.test");
    assertThat(flags).containsEntry("/missing/1", ResponseFlag.DNS_RESOLUTION_FAILED.code());

    // A gRPC call gets the same answer in gRPC's form.
    HttpResponse<String> call = CLIENT.send(request("/missing/pkg.Service/Method")
        .header("content-type", "application/grpc").POST(HttpRequest.BodyPublishers.ofByteArray(new byte[5])).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(call.statusCode()).isEqualTo(200);
    assertThat(call.headers().firstValue("grpc-status")).hasValue("14"); // UNAVAILABLE
    assertThat(call.headers().firstValue("grpc-message")).hasValueSatisfying(m -> assertThat(m).contains("missing.test"));
    assertThat(flags).containsEntry("/missing/pkg.Service/Method", ResponseFlag.DNS_RESOLUTION_FAILED.code());

    // The failure was kept: looked up once, counted once. The next exchange elsewhere is unharmed.
    assertThat(lookups.get("missing.test")).hasValue(1);
    assertThat(failures("not_found")).isEqualTo(1.0);
    assertThat(get("/fast/1").statusCode()).isEqualTo(200);
  }

  @Test
  void aLookupLongerThanTheConnectTimeoutIsAnswered502FlaggedDnsResolutionFailed() throws Exception {
    start(Duration.ofMillis(300));
    HttpResponse<String> blocked = get("/blocked/1");
    assertThat(blocked.statusCode()).isEqualTo(502);
    assertThat(blocked.body()).contains("blocked.test");
    assertThat(flags).containsEntry("/blocked/1", ResponseFlag.DNS_RESOLUTION_FAILED.code());
    assertThat(failures("timeout")).isEqualTo(1.0);
  }

  @Test
  void aRefusedConnectionIsStillFlaggedAsOne() throws Exception {
    start(Duration.ofSeconds(30));
    app.stop(0); // nothing listens on its port any more
    HttpResponse<String> refused = get("/fast/1");
    assertThat(refused.statusCode()).isEqualTo(502);
    assertThat(flags).containsEntry("/fast/1", ResponseFlag.UPSTREAM_REFUSED.code());
    app = null;
  }
}
