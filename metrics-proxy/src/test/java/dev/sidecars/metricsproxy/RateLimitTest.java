package dev.sidecars.metricsproxy;

import static dev.sidecars.metricsproxy.TlsListenerTest.CA;
import static dev.sidecars.metricsproxy.TlsListenerTest.SERVER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code RATE_LIMITS} at metrics-proxy, on a clock the test moves: exact counts at a fixed rate, 429 with
 * {@code Retry-After}, flag {@code RL}, a count by route, per-identity buckets for real mTLS callers, and
 * nothing over the limit reaches the application.
 */
class RateLimitTest {
  @TempDir Path dir;
  private final AtomicLong now = new AtomicLong(TimeUnit.DAYS.toNanos(3));
  private final ByteArrayOutputStream accessLog = new ByteArrayOutputStream();
  private TestBackend backend;
  private ProxyUnderTest proxy;

  @BeforeEach
  void start() {
    backend = new TestBackend();
    SERVER.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    CA.writeCertificate(dir.resolve("ca.crt"));
    Map<String, String> env = new HashMap<>();
    env.put("TARGET_URL", backend.url());
    env.put("ACCESS_LOG", "on");
    env.put("ROUTES", "/search,/payments/{id}");
    env.put("RATE_LIMITS", "/search=10/s burst 5; /payments/{id}=2/m per identity; *=1000/s");
    env.put("TLS_MODE", "permissive");
    env.put("TLS_CERT_FILE", dir.resolve("tls.crt").toString());
    env.put("TLS_KEY_FILE", dir.resolve("tls.key").toString());
    env.put("TLS_CA_FILE", dir.resolve("ca.crt").toString());
    proxy = ProxyUnderTest.start(new PrintStream(accessLog, true, StandardCharsets.UTF_8), now::get, env);
  }

  @AfterEach
  void stop() {
    proxy.close();
    backend.close();
  }

  private HttpResponse<String> get(HttpClient client, String scheme, String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(scheme + "://127.0.0.1:" + proxy.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aRouteLimitAdmitsExactlyItsRateAndAnswers429WithRetryAfter() throws Exception {
    int passed = 0;
    int refused = 0;
    // A burst of 8 at one instant: the burst of 5 goes through.
    for (int i = 0; i < 8; i++) {
      HttpResponse<String> response = get(ProxyUnderTest.CLIENT, "http", "/search?q=" + i);
      if (response.statusCode() == 200) {
        passed++;
      } else {
        assertThat(response.statusCode()).isEqualTo(429);
        assertThat(response.headers().firstValue("Retry-After")).hasValue("1");
        refused++;
      }
    }
    assertThat(passed).isEqualTo(5);
    // Then 20 requests a second for 2 s against 10/s: exactly every other one.
    for (int i = 0; i < 40; i++) {
      now.addAndGet(TimeUnit.MILLISECONDS.toNanos(50));
      int status = get(ProxyUnderTest.CLIENT, "http", "/search").statusCode();
      if (status == 200) {
        passed++;
      } else {
        refused++;
      }
    }
    assertThat(passed).isEqualTo(25);
    assertThat(refused).isEqualTo(23);
    assertThat(backend.seen).as("nothing over the limit reached the app").hasSize(25);
    assertThat(PrometheusText.value(proxy.admin("/metrics", null).body(), "rate_limited_total", "route", "/search",
        "identity", "_NONE")).hasValue(23);
    await().untilAsserted(() -> assertThat(TlsListenerTest.accessLines(accessLog).stream()
        .filter(l -> l.path("status").asInt() == 429 && l.path("flags").asText().equals("RL")).count())
        .isEqualTo(23));
    // Other routes have their own bucket.
    assertThat(get(ProxyUnderTest.CLIENT, "http", "/other").statusCode()).isEqualTo(200);
  }

  @Test
  void perIdentityLimitsGiveEachCallerItsOwnBucket() throws Exception {
    HttpClient checkout = TlsListenerTest.client(CA.sslContext(CA.leaf().uri(TlsListenerTest.CHECKOUT).issue()),
        HttpClient.Version.HTTP_2);
    HttpClient cart = TlsListenerTest.client(CA.sslContext(CA.leaf().uri(AuthorizationTest.CART).issue()),
        HttpClient.Version.HTTP_1_1);
    for (HttpClient client : new HttpClient[] {checkout, cart}) {
      assertThat(get(client, "https", "/payments/1").statusCode()).isEqualTo(200);
      assertThat(get(client, "https", "/payments/2").statusCode()).isEqualTo(200);
      HttpResponse<String> third = get(client, "https", "/payments/3");
      assertThat(third.statusCode()).isEqualTo(429);
      assertThat(third.headers().firstValue("Retry-After")).hasValue("30"); // 2/m: a token every 30 s
    }
    // Callers without a certificate share one bucket.
    assertThat(get(ProxyUnderTest.CLIENT, "http", "/payments/4").statusCode()).isEqualTo(200);
    assertThat(get(ProxyUnderTest.CLIENT, "http", "/payments/5").statusCode()).isEqualTo(200);
    assertThat(get(ProxyUnderTest.CLIENT, "http", "/payments/6").statusCode()).isEqualTo(429);
    now.addAndGet(Duration.ofSeconds(30).toNanos());
    assertThat(get(checkout, "https", "/payments/7").statusCode()).isEqualTo(200);
    assertThat(get(checkout, "https", "/payments/8").statusCode()).isEqualTo(429);
    assertThat(backend.seen).hasSize(7);
  }
}
