package dev.sidecars.runtime.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class HttpMetricsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @Test
  void recordsDurationsInSemanticConventionBucketsWithTheThreeLabels() {
    HttpMetrics metrics = new HttpMetrics(registry, HttpMetrics.Side.SERVER, 10);
    metrics.record("GET", 200, "/users/{id}", 3_000_000, 0, 12);
    Timer timer = registry.get("http.server.request.duration")
        .tags("http.request.method", "GET", "http.response.status_code", "200", "http.route", "/users/{id}").timer();
    assertThat(timer.count()).isEqualTo(1);
    double[] bounds = Arrays.stream(timer.takeSnapshot().histogramCounts()).mapToDouble(c -> c.bucket(java.util.concurrent.TimeUnit.SECONDS)).toArray();
    assertThat(bounds).containsExactly(HttpMetrics.DURATION_BUCKETS.stream().mapToDouble(Double::doubleValue).toArray());
    CountAtBucket first = timer.takeSnapshot().histogramCounts()[0];
    assertThat(first.count()).isEqualTo(1); // 3 ms is under the 5 ms bucket
    assertThat(registry.get("http.server.response.body.size").summary().totalAmount()).isEqualTo(12);
  }

  @Test
  void unknownMethodsBecomeOther() {
    HttpMetrics metrics = new HttpMetrics(registry, HttpMetrics.Side.SERVER, 10);
    metrics.record("FROB", 200, "/", 1, 0, 0);
    metrics.record("get", 200, "/", 1, 0, 0);
    assertThat(registry.get("http.server.request.duration").tag("http.request.method", "_OTHER").timer().count()).isEqualTo(2);
  }

  @Test
  void foldsSeriesBeyondTheLimitIntoOneOverflowSeriesAndCountsThem() {
    HttpMetrics metrics = new HttpMetrics(registry, HttpMetrics.Side.CLIENT, 2);
    for (int i = 0; i < 10; i++) {
      metrics.record("GET", 200, "host-" + i, 1, 0, 0);
    }
    assertThat(metrics.seriesCount()).isEqualTo(2);
    assertThat(registry.get("http.client.request.duration").tag("server.address", HttpMetrics.OVERFLOW).timer().count()).isEqualTo(8);
    assertThat(registry.get("http.client.series.overflow").counter().count()).isEqualTo(8);
    assertThat(registry.get("http.client.request.duration").timers()).hasSize(3);
  }

  @Test
  void countsActiveRequests() {
    HttpMetrics metrics = new HttpMetrics(registry, HttpMetrics.Side.SERVER, 10);
    metrics.started();
    metrics.started();
    metrics.finished();
    assertThat(registry.get("http.server.active_requests").gauge().value()).isEqualTo(1);
  }
}
