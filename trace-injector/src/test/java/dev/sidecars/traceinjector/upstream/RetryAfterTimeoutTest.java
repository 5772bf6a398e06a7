package dev.sidecars.traceinjector.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.traceinjector.routing.UpstreamTable;
import dev.sidecars.traceinjector.testing.Backend;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import dev.sidecars.runtime.proxy.ProxyEventLoops;
import dev.sidecars.runtime.proxy.ProxyServer;
import dev.sidecars.runtime.proxy.UpstreamClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A retry waiting out its backoff when the upstream timeout answers 504: the request must not go out
 * after the answer, and the endpoints' outstanding counts must come back to 0, neither below nor stuck
 * above. Real servers on free ports; the backoff (2 s, jitter fixed at its maximum) is far longer than the
 * timeout (500 ms), so the order is certain.
 */
class RetryAfterTimeoutTest {
  private static final Duration TIMEOUT = Duration.ofMillis(500);
  private static final Duration BACKOFF = Duration.ofSeconds(2);

  /** {@link Upstreams} with these URLs as {@code svc}, behind a plain proxy listener on a free port. */
  private static final class Front implements AutoCloseable {
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final ProxyEventLoops loops = new ProxyEventLoops(1, "front-io");
    final Upstreams upstreams;
    final Upstream svc;
    final ProxyServer server;

    Front(List<URI> urls) {
      UpstreamPolicy policy = new UpstreamPolicy(TIMEOUT, Map.of(), 2, 1.0, 10, BACKOFF, BACKOFF,
          1000, Duration.ofSeconds(5), 1000, Duration.ofSeconds(30), 8, 16, 0);
      // Random picks fixed to the first candidate, so the order of the URLs decides the first attempt.
      upstreams = new Upstreams(new UpstreamTable(Map.of("svc", urls)), policy,
          new UpstreamClient(loops, HostResolver.withDefaults(meters, "dns.failures"), UpstreamClient.DEFAULT_CONNECT_TIMEOUT,
              Duration.ofSeconds(60)), meters,
          System::nanoTime, () -> 1.0, n -> 0);
      svc = upstreams.listed("svc").orElseThrow();
      server = ProxyServer.start(new ProxyServer.Settings("127.0.0.1", 0, 64 * 1024, Duration.ofSeconds(10),
          Duration.ofSeconds(60)), ex -> svc.handle(ex, svc.newCall(), () -> {}), loops);
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
      int port = server.port();
      return HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    }

    double retries() {
      return meters.get("trace_injector.upstream.retries").counter().count();
    }

    @Override
    public void close() {
      // As the sidecar does: the pools first, while the listener's event loops still run.
      upstreams.close();
      server.close();
      loops.close();
    }
  }

  @Test
  void aResendAfterA503IsDroppedWhenTheTimeoutAnsweredDuringItsBackoff() throws Exception {
    try (Backend busy = Backend.start("busy").behave(Backend.Behaviour.status(503));
        Front front = new Front(List.of(URI.create(busy.url())))) {
      HttpResponse<String> response = front.get("/x");
      assertThat(response.statusCode()).isEqualTo(504);
      assertThat(front.retries()).as("the 503 came before the timeout and a resend waits").isEqualTo(1.0);

      // Past the end of the backoff: the resend would have gone out by then.
      await().during(BACKOFF.plusMillis(500)).atMost(BACKOFF.multipliedBy(3))
          .untilAsserted(() -> {
            assertThat(busy.seen()).as("requests the upstream received").hasSize(1);
            assertThat(front.retries()).as("retries").isEqualTo(1.0);
            assertThat(front.svc.outstanding()).as("outstanding on the endpoints").isZero();
          });
    }
  }

  @Test
  void aConnectRetryIsDroppedWhenTheTimeoutAnsweredDuringItsBackoff() throws Exception {
    int dead = Backend.closedPort();
    try (Backend alive = Backend.start("alive");
        Front front = new Front(List.of(URI.create("http://127.0.0.1:" + dead), URI.create(alive.url())))) {
      HttpResponse<String> response = front.get("/x");
      assertThat(response.statusCode()).isEqualTo(504);
      assertThat(front.retries()).as("the refused connect is retried after a backoff").isEqualTo(1.0);

      await().during(BACKOFF.plusMillis(500)).atMost(BACKOFF.multipliedBy(3))
          .untilAsserted(() -> {
            assertThat(alive.seen()).as("requests the second endpoint received").isEmpty();
            assertThat(front.retries()).as("retries: the one that waited, none after the answer").isEqualTo(1.0);
            assertThat(front.svc.outstanding()).as("outstanding on the endpoints").isZero();
          });
    }
  }
}
