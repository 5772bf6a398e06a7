package dev.sidecars.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.demo.launch.ProcessGroup;
import dev.sidecars.demo.launch.RunningProcess;
import dev.sidecars.demo.services.DemoServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo topology, started by the launcher's own code on free ports, driven end to end: one trace of three
 * spans per payment across the four sidecar hops (HTTP into payment, gRPC from payment to fraud-check), both
 * services' logs joined to it, request and call counts equal in {@code /metrics}, in the collector and in a
 * real Prometheus, bodies unchanged; then the drills: fraud-check killed and restarted, the collector away for
 * 20 seconds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SuiteEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private static final int N = 24;
  /** fraud-check's one gRPC method, the name of its spans. */
  private static final String CHECK = "demo.fraud.v1.FraudCheck/Check";

  private Path dir;
  private ProcessGroup group;
  private DemoTopology.Running demo;
  private String ui;

  @BeforeAll
  void startTheSuite(@TempDir Path tempDir) {
    dir = tempDir;
    Path home = Path.of("").toAbsolutePath().getParent();
    DemoSettings settings = new DemoSettings(0, dir, 0, home,
        List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-Xss512k", "-Xmx128m"),
        Optional.empty(), Map.of())
        .withSidecarEnv(Map.of(
            "OTEL_METRIC_EXPORT_INTERVAL", "1000",
            "OTEL_BSP_SCHEDULE_DELAY", "200",
            "BREAKER_OPEN", "3s",
            "LOG_RETRY_MAX", "2s"));
    DemoTopology topology = new DemoTopology(settings);
    assertThat(topology.missingJars()).as("the reactor builds the four jars before this module").isEmpty();
    group = new ProcessGroup(dir.resolve("output"), Duration.ofSeconds(20), line -> System.out.println("[e2e] " + line));
    demo = topology.start(group);
    ui = demo.collectorUi().orElseThrow();
  }

  @AfterAll
  void stopTheSuite() {
    if (group != null) {
      group.stop();
    }
  }

  @Test
  @Order(1)
  void everyPaymentIsOneTraceOfThreeSpansWithBothServicesLogsAndUnchangedBodies() throws Exception {
    Random random = new Random(7);
    Map<String, String> callerSpans = new LinkedHashMap<>();
    Map<String, String> sentDigests = new LinkedHashMap<>();
    for (int i = 0; i < N; i++) {
      // Sizes from a few bytes to 256 KiB, text of every UTF-8 length and every escape: whatever the proxies
      // do, they must not touch it.
      byte[] body = payment(random, i == 0 ? 0 : (i % 4 == 0 ? 256 * 1024 : random.nextInt(4096) + 1));
      Optional<String[]> caller = i % 2 == 0
          ? Optional.of(new String[] {hex(random, 16), hex(random, 8)})
          : Optional.empty();
      HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(demo.paymentEntry() + "/payments"))
          .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofByteArray(body));
      caller.ifPresent(c -> request.header("traceparent", "00-" + c[0] + "-" + c[1] + "-01")
          .header("baggage", "tenant=acme"));
      HttpResponse<byte[]> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());

      assertThat(response.statusCode()).as("payment %d", i).isEqualTo(201);
      assertThat(response.headers().firstValue(DemoServer.BODY_DIGEST))
          .as("payment's answer arrives as payment sent it").contains(DemoServer.sha256(response.body()));
      JsonNode answer = JSON.readTree(response.body());
      assertThat(answer.path("verdict").asText()).isIn("approve", "review");
      assertThat(answer.has("request_sha256")).as("no test fields in an answer for people: %s", answer).isFalse();
      String traceId = answer.path("trace_id").asText();
      assertThat(traceId).hasSize(32);
      caller.ifPresent(c -> assertThat(traceId).as("the caller's trace is continued").isEqualTo(c[0]));
      callerSpans.put(traceId, caller.map(c -> c[1]).orElse(null));
      sentDigests.put(traceId, DemoServer.sha256(body));
    }
    assertThat(callerSpans).hasSize(N);

    for (Map.Entry<String, String> entry : callerSpans.entrySet()) {
      String traceId = entry.getKey();
      JsonNode trace = await("trace " + traceId).atMost(Duration.ofSeconds(30))
          .until(() -> trace(traceId), t -> t != null && t.path("spans").size() >= 3);
      assertThat(trace.path("spans")).as("trace %s", traceId).hasSize(3);
      JsonNode paymentServer = span(trace, "payment", "server");
      JsonNode paymentClient = span(trace, "payment", "client");
      JsonNode fraudServer = span(trace, "fraud-check", "server");
      if (entry.getValue() == null) {
        assertThat(paymentServer.path("references")).as("a new trace starts at payment").isEmpty();
      } else {
        assertThat(parent(paymentServer)).as("child of the caller's span").isEqualTo(entry.getValue());
      }
      assertThat(parent(paymentClient)).isEqualTo(paymentServer.path("spanID").asText());
      assertThat(parent(fraudServer)).isEqualTo(paymentClient.path("spanID").asText());
      assertThat(paymentServer.path("operationName").asText()).isEqualTo("POST /payments");
      // The gRPC hop, on both sides, by the RPC conventions: the method, and the call's status OK.
      for (JsonNode rpc : List.of(paymentClient, fraudServer)) {
        assertThat(rpc.path("operationName").asText()).isEqualTo(CHECK);
        assertThat(tag(rpc, "rpc.system")).isEqualTo("grpc");
        assertThat(tag(rpc, "rpc.service")).isEqualTo("demo.fraud.v1.FraudCheck");
        assertThat(tag(rpc, "rpc.method")).isEqualTo("Check");
        assertThat(tag(rpc, "rpc.grpc.status_code")).isEqualTo("0");
        assertThat(tag(rpc, "network.protocol.version")).isEqualTo("2");
        assertThat(tag(rpc, "otel.status_code")).as("an OK call is no error").isNotEqualTo("ERROR");
      }
      assertThat(tag(paymentServer, "rpc.system")).as("the HTTP hop stays HTTP").isNull();
      for (JsonNode s : List.of(paymentServer, paymentClient, fraudServer)) {
        assertThat(s.path("traceID").asText()).as("one trace through the gRPC hop").isEqualTo(traceId);
      }

      JsonNode logs = await("logs of " + traceId).atMost(Duration.ofSeconds(30))
          .until(() -> get(ui + "api/logs?traceId=" + traceId + "&limit=100").path("data"), l -> l.size() >= 3);
      Map<String, String> spanOfBody = new LinkedHashMap<>();
      Map<String, JsonNode> attributesOfBody = new LinkedHashMap<>();
      logs.forEach(l -> {
        String key = l.path("resource").path("service.name").asText() + ": " + l.path("body").asText();
        spanOfBody.put(key, l.path("spanId").asText());
        attributesOfBody.put(key.replaceAll("fraud check \\w+$", "fraud check"), l.path("attributes"));
      });
      assertThat(spanOfBody).containsEntry("payment: payment received", paymentServer.path("spanID").asText())
          .containsEntry("payment: payment accepted", paymentServer.path("spanID").asText());
      assertThat(spanOfBody.keySet()).anyMatch(k -> k.startsWith("fraud-check: fraud check "));
      assertThat(spanOfBody).allSatisfy((k, span) -> {
        if (k.startsWith("fraud-check")) {
          assertThat(span).isEqualTo(fraudServer.path("spanID").asText());
        }
      });
      // The services log the digests of what reached them: no hop changed a byte, either way.
      String sent = sentDigests.get(traceId);
      assertThat(attributesOfBody.get("payment: payment received").path("request_sha256").asText())
          .as("payment got the body we sent").isEqualTo(sent);
      assertThat(attributesOfBody.get("fraud-check: fraud check").path("request_sha256").asText())
          .as("fraud-check got the body payment sent").isEqualTo(sent);
      assertThat(attributesOfBody.get("payment: payment accepted").path("fraud_check_answer_intact").asBoolean())
          .as("fraud-check's answer arrived at payment unchanged").isTrue();
    }

    // Every request counted once, at each proxy and at the collector.
    assertThat(histogramCount(demo.metricsEndpoints().get("payment-metrics-proxy"),
        "http_server_request_duration_seconds_count", "http_route=\"/payments\"")).isEqualTo(N);
    assertThat(histogramCount(demo.metricsEndpoints().get("fraud-check-metrics-proxy"),
        "http_server_request_duration_seconds_count", "http_route=\"/demo.fraud.v1.FraudCheck/")).isEqualTo(N);
    assertThat(histogramCount(demo.metricsEndpoints().get("payment-trace-injector"),
        "http_client_request_duration_seconds_count", "")).isEqualTo(N);
    // Each gRPC call once more as a call, by method and status: OK, N times, on both sides of the hop.
    String okCheck = "rpc_method=\"Check\",rpc_service=\"demo.fraud.v1.FraudCheck\",rpc_system=\"grpc\"";
    assertThat(histogramCount(demo.metricsEndpoints().get("fraud-check-metrics-proxy"),
        "rpc_server_call_duration_seconds_count", "rpc_grpc_status_code=\"0\"," + okCheck)).isEqualTo(N);
    assertThat(histogramCount(demo.metricsEndpoints().get("payment-trace-injector"),
        "rpc_client_call_duration_seconds_count", "rpc_grpc_status_code=\"0\"," + okCheck)).isEqualTo(N);
    assertThat(histogramCount(demo.metricsEndpoints().get("payment-metrics-proxy"),
        "rpc_server_call_duration_seconds_count", "")).as("payment's entry is HTTP").isZero();
    for (String service : List.of("payment", "fraud-check")) {
      await("OTLP request count of " + service).atMost(Duration.ofSeconds(30))
          .until(() -> collectorRequestCount(service), count -> count == N);
    }

    // Counted after the counts above: a body that is no payment is refused, through payment's metrics-proxy.
    HttpResponse<String> refused = HTTP.send(HttpRequest.newBuilder(URI.create(demo.paymentEntry() + "/payments"))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("amount=12.50")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(refused.statusCode()).as("not JSON: %s", refused.body()).isEqualTo(400);
    assertThat(JSON.readTree(refused.body()).path("trace_id").asText()).as("the refusal's trace").hasSize(32);
  }

  @Test
  @Order(2)
  void prometheusScrapesEverySidecarAndPromtoolAcceptsEveryMetricsPage() throws Exception {
    Optional<Path> prometheus = Prometheus.find("prometheus");
    Optional<Path> promtool = Prometheus.find("promtool");
    if (System.getenv("CI") == null) {
      Assumptions.assumeTrue(prometheus.isPresent() && promtool.isPresent(),
          "prometheus and promtool are not installed (.ci/run installs them)");
    }
    assertThat(prometheus).as("prometheus on PATH").isPresent();
    assertThat(promtool).as("promtool on PATH").isPresent();

    for (Map.Entry<String, String> endpoint : demo.metricsEndpoints().entrySet()) {
      String page = getText(endpoint.getValue());
      Process check = new ProcessBuilder(promtool.get().toString(), "check", "metrics").redirectErrorStream(true).start();
      check.getOutputStream().write(page.getBytes(StandardCharsets.UTF_8));
      check.getOutputStream().close();
      String verdict = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(check.waitFor()).as("promtool check metrics on %s: %s", endpoint.getKey(), verdict).isZero();
    }

    Map<String, String> targets = new LinkedHashMap<>();
    demo.metricsEndpoints().forEach((name, url) -> targets.put(name, URI.create(url).getAuthority()));
    ScheduledExecutorService load = Executors.newSingleThreadScheduledExecutor();
    try (Prometheus server = Prometheus.start(prometheus.get(), dir.resolve("prometheus"), targets)) {
      await("prometheus ready").atMost(Duration.ofSeconds(60)).until(server::ready);
      load.scheduleAtFixedRate(this::pay, 0, 100, TimeUnit.MILLISECONDS);

      await("every sidecar up").atMost(Duration.ofSeconds(60))
          .until(() -> server.query("up == 1").size() == targets.size());
      JsonNode rates = await("request rate series").atMost(Duration.ofSeconds(60)).until(
          () -> server.query("sum by (job) (rate(http_server_request_duration_seconds_count[10s]))"),
          r -> jobsWithPositiveValue(r).containsAll(Set.of("payment-metrics-proxy", "fraud-check-metrics-proxy")));
      assertThat(jobsWithPositiveValue(rates)).containsExactlyInAnyOrder("payment-metrics-proxy", "fraud-check-metrics-proxy");
      // Each job is scraped on its own schedule: the trace-injector's rate needs two scrapes of its own.
      await("client request rate series").atMost(Duration.ofSeconds(60)).until(
          () -> server.query("sum by (job, server_address) (rate(http_client_request_duration_seconds_count[10s]))"),
          r -> jobsWithPositiveValue(r).equals(Set.of("payment-trace-injector")));
      await("gRPC call rate series, both sides of the hop").atMost(Duration.ofSeconds(60)).until(
          () -> server.query("sum by (job) (rate(rpc_server_call_duration_seconds_count[10s]))"
              + " or sum by (job) (rate(rpc_client_call_duration_seconds_count[10s]))"),
          r -> jobsWithPositiveValue(r).equals(Set.of("fraud-check-metrics-proxy", "payment-trace-injector")));
    } finally {
      load.shutdownNow();
      load.awaitTermination(30, TimeUnit.SECONDS);
    }
  }

  @Test
  @Order(3)
  void fraudCheckKilledThenRestartedFailsFastThroughTheBreakerAndRecovers() throws Exception {
    group.kill(DemoTopology.FRAUD_CHECK);

    List<JsonNode> failures = new ArrayList<>();
    JsonNode fastFailure = null;
    for (int i = 0; i < 30 && fastFailure == null; i++) {
      HttpResponse<String> response = pay();
      assertThat(response.statusCode()).as("payment with fraud-check down: %s", response.body()).isEqualTo(502);
      JsonNode answer = JSON.readTree(response.body());
      failures.add(answer);
      if ("open".equals(answer.path("upstream_circuit").asText())) {
        fastFailure = answer;
      }
    }
    assertThat(fastFailure).as("the breaker opened within 30 calls: %s", failures).isNotNull();
    // A gRPC client cannot read an HTTP 502 or 503: the proxy answers UNAVAILABLE, in gRPC's own form.
    assertThat(failures.get(0).path("upstream_grpc_status").asInt()).as("app down: UNAVAILABLE at once").isEqualTo(14);
    assertThat(failures.get(0).path("error").asText()).startsWith("fraud-check answered UNAVAILABLE: proxy: ");
    assertThat(fastFailure.path("upstream_grpc_status").asInt()).isEqualTo(14);
    long started = System.nanoTime();
    JsonNode again = JSON.readTree(pay().body());
    assertThat(again.path("upstream_circuit").asText()).isEqualTo("open");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).as("an open breaker answers at once")
        .isLessThan(Duration.ofSeconds(2));

    // The errors are in the spans, the metrics and the access logs.
    String failedTrace = fastFailure.path("trace_id").asText();
    JsonNode trace = await().atMost(Duration.ofSeconds(30)).until(() -> trace(failedTrace),
        t -> t != null && t.path("spans").size() >= 3);
    assertThat(tag(span(trace, "payment", "server"), "http.response.status_code")).isEqualTo("502");
    assertThat(tag(span(trace, "payment", "server"), "otel.status_code")).isEqualTo("ERROR");
    assertThat(tag(span(trace, "payment", "client"), "rpc.grpc.status_code")).isEqualTo("14");
    assertThat(tag(span(trace, "payment", "client"), "otel.status_code")).isEqualTo("ERROR");
    assertThat(tag(span(trace, "fraud-check", "server"), "rpc.grpc.status_code")).isEqualTo("14");
    assertThat(tag(span(trace, "fraud-check", "server"), "otel.status_code")).isEqualTo("ERROR");
    String unavailable = "rpc_grpc_status_code=\"14\",rpc_method=\"Check\"";
    assertThat(histogramCount(demo.metricsEndpoints().get("fraud-check-metrics-proxy"),
        "rpc_server_call_duration_seconds_count", unavailable)).isPositive();
    assertThat(histogramCount(demo.metricsEndpoints().get("payment-trace-injector"),
        "rpc_client_call_duration_seconds_count", unavailable)).isPositive();
    assertThat(histogramCount(demo.metricsEndpoints().get("payment-metrics-proxy"),
        "http_server_request_duration_seconds_count", "http_response_status_code=\"502\"")).isPositive();
    // The access log keeps why: the app refused (UF), then the open breaker (UO), each answered 200 as gRPC.
    List<JsonNode> accessLog = accessLog(group.get("fraud-check-metrics-proxy"));
    assertThat(accessLog).anySatisfy(line -> {
      assertThat(line.path("status").asInt()).isEqualTo(200);
      assertThat(line.path("flags").asText()).isEqualTo("UF");
    });
    assertThat(accessLog).anySatisfy(line -> {
      assertThat(line.path("status").asInt()).isEqualTo(200);
      assertThat(line.path("flags").asText()).isEqualTo("UO");
    });

    DemoTopology.restartOnSamePorts(group, DemoTopology.FRAUD_CHECK);

    await("payments succeed again once the breaker's probe passes").atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(200)).until(() -> pay().statusCode() == 201);
    for (int i = 0; i < 5; i++) {
      assertThat(pay().statusCode()).isEqualTo(201);
    }
  }

  @Test
  @Order(4)
  void theCollectorAwayFor20SecondsLosesNoLogLine() throws Exception {
    assertThat(group.terminate(DemoTopology.COLLECTOR)).isZero();

    Set<String> tracesDuringOutage = ConcurrentHashMap.newKeySet();
    List<String> failedDuringOutage = java.util.Collections.synchronizedList(new ArrayList<>());
    ScheduledExecutorService load = Executors.newScheduledThreadPool(2);
    CountDownLatch outageOver = new CountDownLatch(1);
    load.scheduleAtFixedRate(() -> {
      HttpResponse<String> response = pay();
      if (response.statusCode() == 201) {
        try {
          tracesDuringOutage.add(JSON.readTree(response.body()).path("trace_id").asText());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      } else {
        failedDuringOutage.add(response.statusCode() + " " + response.body());
      }
    }, 0, 250, TimeUnit.MILLISECONDS);
    load.schedule(outageOver::countDown, 20, TimeUnit.SECONDS);
    outageOver.await();
    load.shutdown();
    assertThat(load.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    assertThat(tracesDuringOutage).as("payments go on while the collector is away; failed: %s", failedDuringOutage).hasSizeGreaterThan(40);

    DemoTopology.restartOnSamePorts(group, DemoTopology.COLLECTOR);

    for (String service : List.of("payment", "fraud-check")) {
      await("every " + service + " log line written during the outage").atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofSeconds(1))
          .untilAsserted(() -> assertThat(traceIdsOfLogs(service)).containsAll(tracesDuringOutage));
    }
    // payment writes two lines per payment, fraud-check one: none of them missing.
    Map<String, Integer> perTrace = new LinkedHashMap<>();
    get(ui + "api/logs?service=payment&limit=1000000").path("data").forEach(l -> {
      if (tracesDuringOutage.contains(l.path("traceId").asText())) {
        perTrace.merge(l.path("traceId").asText() + " " + l.path("body").asText(), 1, Integer::sum);
      }
    });
    assertThat(perTrace.keySet().stream().filter(k -> k.endsWith(" payment received"))).hasSameSizeAs(tracesDuringOutage);
    assertThat(perTrace.keySet().stream().filter(k -> k.endsWith(" payment accepted"))).hasSameSizeAs(tracesDuringOutage);
  }

  @Test
  @Order(5)
  void everyProcessStopsCleanlyAfterTheDrills() {
    List<ProcessGroup.Stopped> stopped = group.stop();

    // The order is ProcessGroupTest's business; here: after the drills, every process stops cleanly.
    assertThat(stopped).hasSize(9).allSatisfy(s -> {
      assertThat(s.exitCode()).as(s.name()).isZero();
      assertThat(s.killed()).as(s.name()).isFalse();
    });
  }

  // --- helpers

  private HttpResponse<String> pay() {
    HttpRequest request = HttpRequest.newBuilder(URI.create(demo.paymentEntry() + "/payments"))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"amount\":12.50,\"currency\":\"EUR\"}")).build();
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private JsonNode trace(String traceId) {
    HttpResponse<String> response = send(ui + "api/traces/" + traceId);
    if (response.statusCode() == 404) {
      return null;
    }
    try {
      return JSON.readTree(response.body()).path("data").path(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JsonNode span(JsonNode trace, String service, String kind) {
    List<JsonNode> found = new ArrayList<>();
    trace.path("spans").forEach(s -> {
      String svc = trace.path("processes").path(s.path("processID").asText()).path("serviceName").asText();
      if (svc.equals(service) && kind.equals(tag(s, "span.kind"))) {
        found.add(s);
      }
    });
    assertThat(found).as("%s %s span in %s", service, kind, trace).hasSize(1);
    return found.get(0);
  }

  private static String tag(JsonNode span, String key) {
    for (JsonNode tag : span.path("tags")) {
      if (tag.path("key").asText().equals(key)) {
        return tag.path("value").asText();
      }
    }
    return null;
  }

  private static String parent(JsonNode span) {
    assertThat(span.path("references")).as("references of %s", span).hasSize(1);
    return span.path("references").path(0).path("spanID").asText();
  }

  /** The latest cumulative count of the server-duration histogram the service's proxy pushed over OTLP. */
  private long collectorRequestCount(String service) {
    JsonNode metrics = get(ui + "api/metrics?service=" + service).path("data");
    for (JsonNode metric : metrics) {
      String name = metric.path("name").asText();
      if (name.equals("http.server.request.duration") || name.equals("http_server_request_duration_seconds")
          || name.equals("http.server.request.duration.seconds")) {
        Map<String, Long> latest = new LinkedHashMap<>();
        for (JsonNode point : metric.path("points")) {
          latest.put(point.path("attributes").toString(), point.path("count").asLong());
        }
        return latest.values().stream().mapToLong(Long::longValue).sum();
      }
    }
    return -1;
  }

  private Set<String> traceIdsOfLogs(String service) {
    Set<String> ids = new HashSet<>();
    get(ui + "api/logs?service=" + service + "&limit=1000000").path("data")
        .forEach(l -> ids.add(l.path("traceId").asText()));
    return ids;
  }

  private static Set<String> jobsWithPositiveValue(JsonNode result) {
    Set<String> jobs = new HashSet<>();
    result.forEach(r -> {
      if (Double.parseDouble(r.path("value").path(1).asText("0")) > 0) {
        jobs.add(r.path("metric").path("job").asText());
      }
    });
    return jobs;
  }

  /** The sum of a counter's samples on a {@code /metrics} page whose labels contain {@code labelFilter}. */
  private static long histogramCount(String url, String metric, String labelFilter) {
    // Label values may hold braces (a gRPC route such as /pkg.Service/{method}): the labels end at the last "} ".
    Pattern sample = Pattern.compile("^" + Pattern.quote(metric) + "\\{(.*)\\} (\\S+)$", Pattern.MULTILINE);
    Matcher m = sample.matcher(getText(url));
    double total = 0;
    while (m.find()) {
      if (m.group(1).contains(labelFilter)) {
        total += Double.parseDouble(m.group(2));
      }
    }
    return Math.round(total);
  }

  private static List<JsonNode> accessLog(RunningProcess process) {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : process.outputLines()) {
      if (line.startsWith("{") && line.contains("\"status\"")) {
        try {
          lines.add(JSON.readTree(line));
        } catch (IOException e) {
          // not an access-log line
        }
      }
    }
    return lines;
  }

  /**
   * A JSON payment of about {@code size} bytes: an amount and a memo of random characters of every UTF-8
   * length, control characters (sent as escapes) included.
   */
  private static byte[] payment(Random random, int size) throws IOException {
    StringBuilder memo = new StringBuilder();
    while (memo.length() < size / 2) {
      int kind = random.nextInt(4);
      int codePoint = switch (kind) {
        case 0 -> random.nextInt(0x80);
        case 1 -> 0x80 + random.nextInt(0x800 - 0x80);
        case 2 -> {
          int c = 0x800 + random.nextInt(0x10000 - 0x800);
          yield Character.isSurrogate((char) c) ? 'x' : c;
        }
        default -> 0x10000 + random.nextInt(0x110000 - 0x10000);
      };
      memo.appendCodePoint(codePoint);
    }
    Map<String, Object> payment = new LinkedHashMap<>();
    payment.put("amount", 1 + random.nextInt(500) + random.nextInt(100) / 100.0);
    payment.put("currency", "EUR");
    payment.put("memo", memo.toString());
    return JSON.writeValueAsBytes(payment);
  }

  private static String hex(Random random, int bytes) {
    byte[] b = new byte[bytes];
    do {
      random.nextBytes(b);
    } while (java.util.HexFormat.of().formatHex(b).matches("0+"));
    return java.util.HexFormat.of().formatHex(b);
  }

  private static JsonNode get(String url) {
    try {
      return JSON.readTree(getText(url));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String getText(String url) {
    return send(url).body();
  }

  private static HttpResponse<String> send(String url) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
