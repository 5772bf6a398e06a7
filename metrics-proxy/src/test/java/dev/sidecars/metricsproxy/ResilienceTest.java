package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What clients get when the app is down, slow, flapping or overloaded, and what {@code /readyz} says. */
class ResilienceTest {
  private ProxyUnderTest proxy;
  private TestBackend backend;

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  @Test
  void appRefusingGives502AtOnce() throws Exception {
    proxy = ProxyUnderTest.start(Map.of("TARGET_URL", "http://127.0.0.1:" + freePort(), "BREAKER_FAILURES", "1000"));
    for (int i = 0; i < 3; i++) {
      long start = System.nanoTime();
      assertThat(proxy.get("/anything").statusCode()).isEqualTo(502);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    }
  }

  @Test
  void appSlowerThanTheUpstreamTimeoutGives504() {
    backend = new TestBackend();
    proxy = ProxyUnderTest.start(Map.of("TARGET_URL", backend.url(), "UPSTREAM_TIMEOUT", "300ms"));
    assertThat(proxy.get("/slow?ms=5000").statusCode()).isEqualTo(504);
    assertThat(proxy.get("/slow?ms=10").statusCode()).isEqualTo(200);
  }

  @Test
  void breakerOpensAfterConsecutiveFailuresAndClosesAfterASuccessfulProbe() throws Exception {
    int port = freePort();
    proxy = ProxyUnderTest.start(Map.of("TARGET_URL", "http://127.0.0.1:" + port, "BREAKER_FAILURES", "3",
        "BREAKER_OPEN", "1s"));
    for (int i = 0; i < 3; i++) {
      assertThat(proxy.get("/x").statusCode()).isEqualTo(502);
    }
    // A failure is counted when its exchange completes, which may be just after the client has the 502,
    // so the request right after the third may still go through; the one after that may not.
    List<Integer> more = new java.util.ArrayList<>();
    HttpResponse<String> open = await().atMost(Duration.ofSeconds(20)).until(() -> {
      HttpResponse<String> r = proxy.get("/x");
      more.add(r.statusCode());
      return r;
    }, r -> r.statusCode() == 503);
    assertThat(more.size()).isLessThanOrEqualTo(2);
    assertThat(open.headers().firstValue("x-sidecar-circuit")).hasValue("open");

    backend = new TestBackend(port);
    // After the open interval one probe goes through; it succeeds and closes the breaker.
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> proxy.get("/probe").statusCode() == 200);
    // The probe's success is counted when it completes; from then on the breaker stays closed.
    await().atMost(Duration.ofSeconds(20)).until(() -> proxy.get("/after").statusCode() == 200);
    for (int i = 0; i < 5; i++) {
      assertThat(proxy.get("/after").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void requestsBeyondTheConcurrencyLimitGet503() throws Exception {
    backend = new TestBackend();
    proxy = ProxyUnderTest.start(Map.of("TARGET_URL", backend.url(), "MAX_CONCURRENT_REQUESTS", "2"));
    List<CompletableFuture<HttpResponse<String>>> slow = List.of(
        ProxyUnderTest.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/slow?ms=3000")).build(), HttpResponse.BodyHandlers.ofString()),
        ProxyUnderTest.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/slow?ms=3000")).build(), HttpResponse.BodyHandlers.ofString()));
    await().atMost(Duration.ofSeconds(20)).until(() -> backend.seen.size() >= 2);
    HttpResponse<String> refused = proxy.get("/third");
    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(refused.headers().firstValue("x-sidecar-overloaded")).hasValue("true");
    for (var f : slow) {
      assertThat(f.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }
    // Slots are released when exchanges complete, just after the clients have their answers.
    await().atMost(Duration.ofSeconds(20)).until(() -> proxy.get("/fourth").statusCode() == 200);
  }

  /**
   * More requests in flight than Undertow's default pool of 10 connections per IO thread: every one reaches
   * the app and is answered by it, none is shed with a 503.
   */
  @Test
  void manyConcurrentRequestsAllReachTheApp() throws Exception {
    backend = new TestBackend();
    proxy = ProxyUnderTest.start(Map.of("TARGET_URL", backend.url()));
    int concurrent = 64;
    List<CompletableFuture<HttpResponse<String>>> calls = new java.util.ArrayList<>();
    for (int i = 0; i < concurrent; i++) {
      calls.add(ProxyUnderTest.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/slow?ms=1500")).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    for (var call : calls) {
      HttpResponse<String> response = call.get(30, TimeUnit.SECONDS);
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("slow 1500");
    }
    assertThat(backend.seen).hasSize(concurrent);
  }

  @Test
  void appKilledUnderLoadGives502sAndNothingHangs() throws Exception {
    backend = new TestBackend();
    proxy = ProxyUnderTest.start(Map.of("TARGET_URL", backend.url(), "UPSTREAM_TIMEOUT", "5s"));
    ConcurrentLinkedQueue<Integer> statuses = new ConcurrentLinkedQueue<>();
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService load = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> workers = new java.util.ArrayList<>();
      for (int t = 0; t < 4; t++) {
        workers.add(load.submit(() -> {
          while (!stop.get()) {
            // A client timeout would throw and fail the test: no request may hang.
            statuses.add(ProxyUnderTest.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/echo"))
                .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
          }
          return null;
        }));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> statuses.size() >= 200);
      backend.close();
      backend = null;
      // 502s until the breaker opens, then its fast 503s.
      await().atMost(Duration.ofSeconds(30)).until(() -> statuses.stream().filter(s -> s != 200).count() >= 50);
      stop.set(true);
      for (Future<?> w : workers) {
        w.get(30, TimeUnit.SECONDS);
      }
    } finally {
      stop.set(true);
      load.shutdownNow();
    }
    assertThat(statuses).contains(200, 502, 503).allMatch(s -> s == 200 || s == 502 || s == 503);
  }

  @Test
  void readyOnlyWhileTheAppAnswersItsHealthPath() {
    backend = new TestBackend();
    proxy = ProxyUnderTest.start(Map.of("TARGET_URL", backend.url(), "READINESS_PATH", "/health",
        "READINESS_INTERVAL", "100ms"));
    await().atMost(Duration.ofSeconds(20)).until(() -> proxy.admin("/readyz", null).statusCode() == 200);
    backend.healthStatus.set(503);
    await().atMost(Duration.ofSeconds(20)).until(() -> proxy.admin("/readyz", null).statusCode() == 503);
    assertThat(proxy.admin("/readyz", null).body()).contains("/health").contains("503");
    backend.healthStatus.set(204);
    await().atMost(Duration.ofSeconds(20)).until(() -> proxy.admin("/readyz", null).statusCode() == 200);
  }
}
