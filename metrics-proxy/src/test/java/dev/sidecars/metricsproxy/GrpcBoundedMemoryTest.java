package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.testing.SidecarProcess;
import dev.sidecars.testing.grpc.FloodReader;
import dev.sidecars.testing.grpc.GrpcApp;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A 1 GiB server stream through metrics-proxy running as its own process with 64 MiB of heap and 64 MiB
 * of direct memory, to a client that first reads nothing for a while and then reads: the proxy must
 * pass the app's flow control on instead of buffering, or it runs out of memory long before the end.
 */
class GrpcBoundedMemoryTest {
  private static final int MESSAGE = 64 * 1024;
  private static final int COUNT = 16 * 1024; // 1 GiB

  @Test
  void aGibibyteStreamToASlowReaderPassesWithBoundedMemory() throws Exception {
    try (GrpcApp app = new GrpcApp();
        SidecarProcess proxy = SidecarProcess.start(MetricsProxyMain.class, Map.of(
            "ADMIN_PORT", "0", "PROXY_PORT", "0", "BIND_ADDRESS", "127.0.0.1", "TARGET_URL", app.url(),
            "UPSTREAM_TIMEOUT", "0s", "ACCESS_LOG", "off", "OTEL_TRACES_EXPORTER", "none",
            "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none"), SidecarProcess.boundedMemory("64m"))) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port("proxy")).usePlaintext().build();
      try {
        FloodReader flood = FloodReader.start(channel, COUNT, MESSAGE, Duration.ofSeconds(120));
        flood.readAfter(Duration.ofSeconds(2)); // a slow reader: nothing read while a gibibyte waits to be sent
        Status status = flood.awaitClose(Duration.ofSeconds(120));
        assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.OK);
        assertThat(flood.bytes()).isEqualTo((long) MESSAGE * COUNT);
        assertThat(proxy.process().isAlive()).isTrue();
        assertThat(proxy.stderr()).noneMatch(line -> line.contains("OutOfMemoryError") || line.contains("OutOfDirectMemory"));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
