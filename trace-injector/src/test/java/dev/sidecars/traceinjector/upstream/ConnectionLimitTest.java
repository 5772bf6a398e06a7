package dev.sidecars.traceinjector.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.traceinjector.testing.Backend;
import dev.sidecars.traceinjector.testing.Injector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@code UPSTREAM_CONNECTIONS} bounds the HTTP/1.1 connections to an endpoint (per I/O thread): calls beyond
 * it wait for one to be given back instead of opening more. The calls come as HTTP/2 streams on one client
 * connection, so one I/O thread serves them all, and go to the upstream as HTTP/1.1 ({@code ;protocol=http1}).
 */
class ConnectionLimitTest {
  @Test
  void callsBeyondTheLimitWaitForAConnection() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    try (Backend slow = Backend.start("slow").behave(Backend.Behaviour.slow(300));
        Injector injector = Injector.start(Map.of("UPSTREAMS", "slow=" + slow.url() + ";protocol=http1",
            "UPSTREAM_CONNECTIONS", "1"))) {
      slow.observe(exchange -> {
        most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        exchange.addExchangeCompleteListener((ex, next) -> {
          inFlight.decrementAndGet();
          next.proceed();
        });
      });
      HttpClient http2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
      URI uri = URI.create("http://127.0.0.1:" + injector.port() + "/slow/x");
      // The first call upgrades the connection to h2c; the others are streams on it.
      HttpResponse<String> first = http2.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(first.version()).isEqualTo(HttpClient.Version.HTTP_2);
      List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        calls.add(http2.sendAsync(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      for (CompletableFuture<HttpResponse<String>> call : calls) {
        assertThat(call.get().statusCode()).isEqualTo(200);
        assertThat(call.get().version()).isEqualTo(HttpClient.Version.HTTP_2);
      }
      assertThat(most.get()).as("requests the upstream served at once").isEqualTo(1);
      assertThat(slow.seen()).hasSize(5);
    }
  }
}
