package dev.sidecars.runtime.rpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.runtime.http.HttpMetrics;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RpcMetricsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @Test
  void recordsCallDurationsWithTheFourLabelsInTheConventionsBuckets() {
    RpcMetrics metrics = new RpcMetrics(registry, RpcMetrics.Side.SERVER, 10);
    metrics.record("shop.Cart", "Add", GrpcStatus.OK, 3_000_000);
    Timer timer = registry.get("rpc.server.call.duration")
        .tags("rpc.system", "grpc", "rpc.service", "shop.Cart", "rpc.method", "Add", "rpc.grpc.status_code", "0").timer();
    assertThat(timer.count()).isEqualTo(1);
    double[] bounds = Arrays.stream(timer.takeSnapshot().histogramCounts()).mapToDouble(c -> c.bucket(TimeUnit.SECONDS)).toArray();
    assertThat(bounds).containsExactly(HttpMetrics.DURATION_BUCKETS.stream().mapToDouble(Double::doubleValue).toArray());
  }

  @Test
  void foldsSeriesBeyondTheLimitIntoOneOverflowSeriesAndCountsThem() {
    RpcMetrics metrics = new RpcMetrics(registry, RpcMetrics.Side.CLIENT, 2);
    // No call yet: no series at all, the overflow one included (a proxy without gRPC shows none).
    assertThat(registry.find("rpc.client.call.duration").meters()).isEmpty();
    for (int i = 0; i < 10; i++) {
      metrics.record("svc.S" + i, "M", GrpcStatus.OK, 1);
    }
    assertThat(metrics.seriesCount()).isEqualTo(2);
    assertThat(registry.get("rpc.client.call.duration").tag("rpc.service", HttpMetrics.OVERFLOW).timer().count()).isEqualTo(8);
    assertThat(registry.get("rpc.client.series.overflow").counter().count()).isEqualTo(8);
    assertThat(registry.get("rpc.client.requests_per_rpc").tag("rpc.service", HttpMetrics.OVERFLOW).summary().count()).isZero();
  }

  @Test
  void recordsMessagesPerCallBothWaysWhenCounted() {
    RpcMetrics metrics = new RpcMetrics(registry, RpcMetrics.Side.SERVER, 10);
    metrics.record("shop.Cart", "Watch", GrpcStatus.OK, 1, 1, 40);
    metrics.record("shop.Cart", "Watch", GrpcStatus.OK, 1, -1, -1); // not counted: not recorded
    assertThat(registry.get("rpc.server.requests_per_rpc").tag("rpc.method", "Watch").summary().totalAmount()).isEqualTo(1);
    assertThat(registry.get("rpc.server.responses_per_rpc").tag("rpc.method", "Watch").summary().count()).isEqualTo(1);
    assertThat(registry.get("rpc.server.responses_per_rpc").tag("rpc.method", "Watch").summary().totalAmount()).isEqualTo(40);
  }

  @Test
  void grpcCallsAreReadFromContentTypeAndPath() {
    assertThat(GrpcCall.of("application/grpc", "/shop.v1.Cart/Add")).isEqualTo(new GrpcCall("shop.v1.Cart", "Add"));
    assertThat(GrpcCall.of("application/grpc+proto", "/Cart/Add")).isEqualTo(new GrpcCall("Cart", "Add"));
    assertThat(GrpcCall.of("application/grpc", "/nope")).isEqualTo(new GrpcCall(GrpcCall.UNKNOWN, GrpcCall.UNKNOWN));
    assertThat(GrpcCall.of("application/grpc", "/a/b/c")).isEqualTo(new GrpcCall(GrpcCall.UNKNOWN, GrpcCall.UNKNOWN));
    assertThat(GrpcCall.of("application/grpc-web", "/Cart/Add")).isNull();
    assertThat(GrpcCall.of("application/json", "/Cart/Add")).isNull();
    assertThat(GrpcCall.of(null, "/Cart/Add")).isNull();
  }

  @Test
  void serverSpansAreErrorsOnlyForTheCodesTheConventionsName() {
    assertThat(java.util.stream.IntStream.range(0, 17).filter(c -> GrpcStatus.isError(c, true)).boxed())
        .containsExactly(2, 4, 12, 13, 14, 15);
    assertThat(java.util.stream.IntStream.range(0, 17).filter(c -> GrpcStatus.isError(c, false)).count()).isEqualTo(16);
    assertThat(GrpcStatus.encodeMessage("50% ünter\n")).isEqualTo("50%25 %C3%BCnter%0A");
    assertThat(GrpcStatus.parse("14")).isEqualTo(14);
    assertThat(GrpcStatus.parse("17")).isEqualTo(-1);
    assertThat(GrpcStatus.parse(null)).isEqualTo(-1);
  }
}
