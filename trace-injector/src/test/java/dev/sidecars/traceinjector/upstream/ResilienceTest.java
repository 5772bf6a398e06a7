package dev.sidecars.traceinjector.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.traceinjector.testing.Backend;
import dev.sidecars.traceinjector.testing.Injector;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** Balancing, ejection, retries, the retry budget and the breaker, against real servers on free ports. */
class ResilienceTest {
  @Test
  void aSlowEndpointGetsFewerRequests() throws Exception {
    try (Backend fast = Backend.start("fast");
        Backend slow = Backend.start("slow").behave(Backend.Behaviour.slow(700));
        Injector injector = Injector.start(Map.of("UPSTREAMS", "svc=" + slow.url() + "|" + fast.url()))) {
      ExecutorService callers = Executors.newFixedThreadPool(3);
      try {
        List<CompletableFuture<Void>> streams = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
          streams.add(CompletableFuture.runAsync(() -> {
            for (int i = 0; i < 12; i++) {
              assertThat(injector.get("/svc/work").statusCode()).isEqualTo(200);
            }
          }, callers));
        }
        CompletableFuture.allOf(streams.toArray(CompletableFuture[]::new)).get();
      } finally {
        callers.shutdownNow();
      }
      // Round robin would give each half (18); cost by latency and outstanding requests keeps away from it.
      assertThat(fast.seen().size() + slow.seen().size()).isEqualTo(36);
      assertThat(slow.seen().size()).isLessThanOrEqualTo(5);
    }
  }

  /**
   * More calls in flight than the pool has connections: they wait for one, as Envoy's pending requests do.
   * None is shed with a 503, and none is retried, as a full pool is no failure of the endpoint.
   */
  @Test
  void callsBeyondThePoolWaitForAConnection() throws Exception {
    int concurrent = 24;
    try (Backend upstream = Backend.start("svc").behave(Backend.Behaviour.slow(300));
        Injector injector = Injector.start(Map.of("UPSTREAMS", "svc=" + upstream.url(), "UPSTREAM_CONNECTIONS", "1"))) {
      ExecutorService callers = Executors.newFixedThreadPool(concurrent);
      try {
        List<CompletableFuture<Integer>> calls = new ArrayList<>();
        for (int i = 0; i < concurrent; i++) {
          calls.add(CompletableFuture.supplyAsync(() -> injector.get("/svc/work").statusCode(), callers));
        }
        for (var call : calls) {
          assertThat(call.get()).isEqualTo(200);
        }
      } finally {
        callers.shutdownNow();
      }
      assertThat(upstream.seen()).hasSize(concurrent);
      assertThat(injector.metric("trace_injector_upstream_retries_total")).isZero();
    }
  }

  @Test
  void aConnectFailureIsRetriedOnAnotherEndpointAndTheDeadOneIsEjectedThenBroughtBack() {
    int dead = Backend.closedPort();
    try (Backend alive = Backend.start("alive");
        Injector injector = Injector.startFirstPick(Map.of(
            "UPSTREAMS", "svc=http://127.0.0.1:" + dead + "|" + alive.url(),
            "EJECT_AFTER_FAILURES", "2", "EJECT_FOR", "30s", "BREAKER_FAILURES", "100"))) {
      HttpResponse<String> first = injector.get("/svc/a");
      assertThat(first.statusCode()).isEqualTo(200);
      assertThat(first.body()).isEqualTo("alive /a");
      assertThat(injector.metric("trace_injector_upstream_retries_total{server_address=\"svc\"")).isEqualTo(1.0);

      injector.get("/svc/b");
      assertThat(injector.metric("trace_injector_upstream_ejected_endpoints{server_address=\"svc\"")).isEqualTo(1.0);
      double retries = injector.metric("trace_injector_upstream_retries_total{server_address=\"svc\"");
      for (int i = 0; i < 5; i++) {
        assertThat(injector.get("/svc/c").statusCode()).isEqualTo(200);
      }
      assertThat(injector.metric("trace_injector_upstream_retries_total{server_address=\"svc\"")).as("ejected: not tried").isEqualTo(retries);

      injector.advance(Duration.ofSeconds(31));
      assertThat(injector.metric("trace_injector_upstream_ejected_endpoints{server_address=\"svc\"")).isEqualTo(0.0);
      injector.get("/svc/d");
      assertThat(injector.metric("trace_injector_upstream_retries_total{server_address=\"svc\"")).as("back in rotation").isEqualTo(retries + 1);
    }
  }

  @Test
  void anIdempotentRequestIsRetriedAfterAResetButAPostIsNot() {
    try (Backend flaky = Backend.start("flaky").behave(Backend.Behaviour.drop());
        Backend good = Backend.start("good");
        Injector injector = Injector.startFirstPick(Map.of("UPSTREAMS", "svc=" + flaky.url() + "|" + good.url(),
            "BREAKER_FAILURES", "100", "EJECT_AFTER_FAILURES", "100"))) {
      HttpResponse<String> get = injector.get("/svc/x");
      assertThat(get.statusCode()).isEqualTo(200);
      assertThat(get.body()).isEqualTo("good /x");

      HttpResponse<String> post = injector.post("/svc/x", "order".getBytes());
      assertThat(post.statusCode()).isEqualTo(502);
      assertThat(post.headers().firstValue("X-Sidecar-Error")).hasValue("connection_reset");
      assertThat(good.seen()).extracting(Backend.Seen::method).containsOnly("GET");
    }
  }

  @Test
  void aResetOnTheOnlyEndpointIsRetriedOnANewConnection() {
    try (Backend single = Backend.start("single").dropNext(1);
        Injector injector = Injector.start(Map.of("UPSTREAMS", "svc=" + single.url()))) {
      HttpResponse<String> response = injector.get("/svc/x");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("single /x");
      assertThat(single.seen()).hasSize(2);
    }
  }

  @Test
  void retriesStayWithinTheBudget() {
    int dead = Backend.closedPort();
    try (Injector injector = Injector.start(Map.of("UPSTREAMS", "svc=http://127.0.0.1:" + dead,
        "RETRY_MAX", "3", "RETRY_BUDGET_PERCENT", "20", "RETRY_BUDGET_MIN", "2", "BREAKER_FAILURES", "10000"))) {
      int requests = 40;
      for (int i = 0; i < requests; i++) {
        HttpResponse<String> response = injector.get("/svc/x");
        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(response.headers().firstValue("X-Sidecar-Error").orElse("")).startsWith("connection_refused");
      }
      double retries = injector.metric("trace_injector_upstream_retries_total{server_address=\"svc\"");
      // Without the budget: 3 retries each, 120. With it: 20% of the requests plus the reserve.
      assertThat(retries).isGreaterThan(0).isLessThanOrEqualTo(0.2 * requests + 2);
    }
  }

  @Test
  void theBreakerOpensAnswersFastAndClosesAfterASuccessfulProbe() {
    try (Backend upstream = Backend.start("svc").behave(Backend.Behaviour.drop());
        Injector injector = Injector.start(Map.of("UPSTREAMS", "svc=" + upstream.url(),
            "BREAKER_FAILURES", "3", "BREAKER_OPEN", "10s", "RETRY_MAX", "0", "EJECT_AFTER_FAILURES", "100"))) {
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> response = injector.get("/svc/x");
        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(response.headers().firstValue("X-Sidecar-Error")).isPresent();
      }
      // The outcome is counted when the exchange completes, which may be just after the client has read it.
      await().atMost(Duration.ofSeconds(10)).until(() -> injector.metric("trace_injector_upstream_breaker_state{server_address=\"svc\"") == 2.0);
      HttpResponse<String> open = injector.get("/svc/x");
      assertThat(open.statusCode()).isEqualTo(503);
      assertThat(open.headers().firstValue("X-Sidecar-Error")).hasValue("circuit_open");
      assertThat(upstream.seen()).hasSize(3);

      upstream.behave(Backend.Behaviour.ok());
      injector.advance(Duration.ofSeconds(11));
      assertThat(injector.get("/svc/x").statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> injector.metric("trace_injector_upstream_breaker_state{server_address=\"svc\"") == 0.0);
      assertThat(injector.get("/svc/x").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void a503ToABodilessIdempotentRequestIsResentElsewhereButAPostIsNot() {
    try (Backend busy = Backend.start("busy").behave(Backend.Behaviour.status(503));
        Backend good = Backend.start("good");
        Injector injector = Injector.startFirstPick(Map.of("UPSTREAMS", "svc=" + busy.url() + "|" + good.url(),
            "BREAKER_FAILURES", "100", "EJECT_AFTER_FAILURES", "100"))) {
      HttpResponse<String> get = injector.get("/svc/x?n=1");
      assertThat(get.statusCode()).isEqualTo(200);
      assertThat(get.body()).isEqualTo("good /x?n=1");
      assertThat(busy.seen()).hasSize(1);
      assertThat(good.last().header("Host")).isEqualTo("127.0.0.1:" + good.port());
      assertThat(injector.metric("trace_injector_upstream_retries_total{server_address=\"svc\"")).isEqualTo(1.0);

      HttpResponse<String> post = injector.post("/svc/x", "order".getBytes());
      assertThat(post.statusCode()).isEqualTo(503);
      assertThat(post.headers().firstValue("X-Sidecar-Error")).as("the upstream's own 503").isEmpty();
      assertThat(good.seen()).extracting(Backend.Seen::method).containsOnly("GET");
    }
  }

  @Test
  void anUpstreamsOwn503PassesUnmarked() {
    try (Backend upstream = Backend.start("svc").behave(Backend.Behaviour.status(503));
        Injector injector = Injector.start(Map.of("UPSTREAMS", "svc=" + upstream.url(), "RETRY_MAX", "1"))) {
      HttpResponse<String> response = injector.get("/svc/x");
      assertThat(response.statusCode()).isEqualTo(503);
      assertThat(upstream.seen()).as("resent once, then passed on: %s %s", response.headers().map(), response.body()).hasSize(2);
      assertThat(response.headers().firstValue("X-Sidecar-Error")).isEmpty();
      assertThat(response.body()).isEqualTo("svc /x");
    }
  }

  @Test
  void aSlowUpstreamTimesOutWith504() {
    try (Backend upstream = Backend.start("svc").behave(Backend.Behaviour.slow(5_000));
        Injector injector = Injector.start(Map.of("UPSTREAMS", "svc=" + upstream.url(), "UPSTREAM_TIMEOUTS", "svc=300ms"))) {
      HttpResponse<String> response = injector.get("/svc/slow");
      assertThat(response.statusCode()).isEqualTo(504);
      assertThat(response.headers().firstValue("X-Sidecar-Error")).hasValue("timeout");
    }
  }

  @Test
  void clientMetricsAreExposed() {
    try (Backend upstream = Backend.start("svc");
        Injector injector = Injector.start(Map.of("UPSTREAMS", "svc=" + upstream.url()))) {
      injector.get("/svc/x");
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(injector.metrics())
          .contains("http_client_request_duration_seconds_bucket{http_request_method=\"GET\",http_response_status_code=\"200\",server_address=\"svc\",le=")
          .contains("http_client_active_requests")
          .contains("trace_injector_upstream_active_requests{server_address=\"svc\"} 0.0"));
    }
  }
}
