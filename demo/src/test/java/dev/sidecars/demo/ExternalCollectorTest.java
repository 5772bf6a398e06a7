package dev.sidecars.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.demo.launch.ProcessGroup;
import dev.sidecars.demo.launch.ProcessSpec;
import dev.sidecars.demo.launch.RunningProcess;
import dev.sidecars.demo.launch.Stage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code DEMO_OTLP_ENDPOINT}: the demo sends everything to a collector it did not start (here a
 * collector-stub standing in for an OpenTelemetry Collector) and starts none of its own.
 */
class ExternalCollectorTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void theSidecarsSendToTheGivenCollectorAndNoStubIsStarted(@TempDir Path dir) throws Exception {
    Path home = Path.of("").toAbsolutePath().getParent();
    List<String> java = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx128m");
    try (ProcessGroup external = new ProcessGroup(dir.resolve("external"), Duration.ofSeconds(20), line -> {});
        ProcessGroup group = new ProcessGroup(dir.resolve("output"), Duration.ofSeconds(20), line -> {})) {
      List<String> command = new ArrayList<>(java);
      command.addAll(List.of("-jar", home.resolve("collector-stub/target/collector-stub.jar").toString()));
      RunningProcess collector = external.start(ProcessSpec.of("otel-collector", Stage.COLLECTOR, command,
          Map.of("OTLP_HTTP_PORT", "0", "OTLP_GRPC_PORT", "0", "UI_PORT", "0", "BIND_ADDRESS", "127.0.0.1"))).get(0);
      String otlp = "http://127.0.0.1:" + collector.port("otlp-http");

      DemoSettings settings = new DemoSettings(0, dir, 0, home, java, Optional.of(otlp),
          Map.of("OTEL_BSP_SCHEDULE_DELAY", "200"));
      DemoTopology.Running demo = new DemoTopology(settings).start(group);

      assertThat(demo.collectorUi()).isEmpty();
      assertThat(group.processes()).extracting(RunningProcess::name).doesNotContain(DemoTopology.COLLECTOR)
          .contains("payment", "payment-metrics-proxy", "payment-trace-injector", "payment-log-forwarder");
      HttpResponse<String> paid = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create(demo.paymentEntry() + "/payments"))
              .POST(HttpRequest.BodyPublishers.ofString("{\"amount\":1}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(paid.statusCode()).isEqualTo(201);
      String traceId = JSON.readTree(paid.body()).path("trace_id").asText();

      String query = "http://127.0.0.1:" + collector.port("ui") + "/api/";
      await().atMost(Duration.ofSeconds(30)).until(() -> get(query + "traces/" + traceId)
          .path("data").path(0).path("spans").size() == 3);
      await().atMost(Duration.ofSeconds(30)).until(() -> get(query + "logs?traceId=" + traceId)
          .path("data").size() >= 3);
    }
  }

  private static JsonNode get(String url) throws Exception {
    return JSON.readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString()).body());
  }
}
