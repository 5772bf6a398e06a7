package dev.sidecars.traceinjector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.testing.SidecarProcess;
import dev.sidecars.testing.grpc.GrpcApp;
import dev.sidecars.traceinjector.testing.Backend;
import dev.sidecars.traceinjector.testing.Injector;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * What an attacker or a broken resolver tried on trace-injector (issue 16), black-box over real sockets: the
 * jar's main in a child process where the access log is read, or the sidecar in this JVM where the name
 * lookup must be slow or fail on purpose. Each test checks the status, the flag ({@code X-Sidecar-Error},
 * the access log), the counter, and that the next request is unharmed.
 */
class HardeningTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private static Map<String, String> env(String... pairs) {
    Map<String, String> env = new HashMap<>(Map.of("PROXY_PORT", "0", "ADMIN_PORT", "0", "BIND_ADDRESS", "127.0.0.1",
        "DRAIN_DELAY", "0s", "OTEL_TRACES_EXPORTER", "none", "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none"));
    for (int i = 0; i < pairs.length; i += 2) {
      env.put(pairs[i], pairs[i + 1]);
    }
    return env;
  }

  @Test
  void theForwardProxyIsNoRelayToThePodsAdminPorts() throws Exception {
    try (Backend ledger = Backend.start("ledger");
        SidecarProcess victim = SidecarProcess.start(TraceInjectorMain.class, env());
        SidecarProcess sidecar = SidecarProcess.start(TraceInjectorMain.class, env("UPSTREAMS", "ledger=" + ledger.url()))) {
      HttpClient viaProxy = viaProxy(sidecar);
      // The attack of the issue: POST /shutdown to another sidecar's admin port, through the relay.
      HttpResponse<String> shutdown = viaProxy.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + victim.port("admin") + "/shutdown")).POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(shutdown.statusCode()).isEqualTo(403);
      assertThat(shutdown.headers().firstValue("X-Sidecar-Error")).hasValue("egress_denied");
      assertThat(victim.admin("/readyz").statusCode()).isEqualTo(200);

      JsonNode line = accessLogLine(sidecar, "/shutdown");
      assertThat(line.path("status").asInt()).isEqualTo(403);
      assertThat(line.path("flags").asText()).isEqualTo("ED");
      assertThat(metric(sidecar, "trace_injector_egress_refused_total{reason=\"host\"}")).isEqualTo(1);

      // A name no entry allows is refused the same way; a listed upstream still goes through.
      HttpResponse<String> elsewhere = viaProxy.send(HttpRequest.newBuilder(URI.create("http://example.com/")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(elsewhere.statusCode()).isEqualTo(403);
      HttpResponse<String> listed = viaProxy.send(HttpRequest.newBuilder(URI.create("http://ledger/entries")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(listed.statusCode()).isEqualTo(200);
      assertThat(listed.body()).isEqualTo("ledger /entries");
    }
  }

  @Test
  void connectGoesOnlyToAllowedHostAndPortPairs() throws Exception {
    try (Backend direct = Backend.start("direct");
        SidecarProcess sidecar = SidecarProcess.start(TraceInjectorMain.class,
            env("EGRESS_ALLOW", "127.0.0.1:" + direct.port() + ",*.svc"))) {
      int proxy = sidecar.port("proxy");
      // The sidecar's own admin port: its address is listed, with another port.
      assertThat(Injector.tunnel(proxy, "127.0.0.1:" + sidecar.port("admin"), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
          .startsWith("HTTP/1.1 403");
      // A host no entry names.
      assertThat(Injector.tunnel(proxy, "example.com:443", "")).startsWith("HTTP/1.1 403");
      // A name allowed by a pattern, on a port other than 443: the port is refused.
      assertThat(Injector.tunnel(proxy, "ledger.payments.svc:8080", "")).startsWith("HTTP/1.1 403");
      // Named exactly with its port: tunnelled.
      assertThat(Injector.tunnel(proxy, "127.0.0.1:" + direct.port(), "GET /tunnelled HTTP/1.1\r\nHost: direct\r\nConnection: close\r\n\r\n"))
          .startsWith("HTTP/1.1 200").endsWith("direct /tunnelled");

      List<JsonNode> refusals = await().atMost(Duration.ofSeconds(10)).until(() -> accessLog(sidecar).stream()
          .filter(j -> j.path("method").asText().equals("CONNECT")).toList(), l -> l.size() == 3);
      assertThat(refusals).allMatch(j -> j.path("status").asInt() == 403 && j.path("flags").asText().equals("ED"));
      assertThat(metric(sidecar, "trace_injector_egress_refused_total{reason=\"host\"}")).isEqualTo(1);
      assertThat(metric(sidecar, "trace_injector_egress_refused_total{reason=\"port\"}")).isEqualTo(2);
    }
  }

  @Test
  void aNameThatResolvesToLoopbackIsRefusedUnlessNamedExactly() throws Exception {
    try (Backend local = Backend.start("local");
        Injector injector = Injector.startWithLookup(Map.of("EGRESS_ALLOW", "*.svc,named.svc:" + local.port()),
            host -> InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1}))) {
      HttpResponse<String> sneaky = injector.getViaProxy("http://sneaky.svc:" + local.port() + "/x");
      assertThat(sneaky.statusCode()).isEqualTo(403);
      assertThat(sneaky.headers().firstValue("X-Sidecar-Error")).hasValue("egress_denied");
      assertThat(injector.metric("trace_injector_egress_refused_total{reason=\"address\"}")).isEqualTo(1.0);
      assertThat(local.seen()).isEmpty();

      HttpResponse<String> named = injector.getViaProxy("http://named.svc:" + local.port() + "/y");
      assertThat(named.statusCode()).isEqualTo(200);
      assertThat(local.last().header("Host")).isEqualTo("named.svc:" + local.port());
    }
  }

  /** Defense in depth: a relay allowed to reach loopback still cannot stop a sidecar through its admin port. */
  @Test
  void adminMutationsAreRefusedWhenTheyCameThroughAProxy() throws Exception {
    try (SidecarProcess victim = SidecarProcess.start(TraceInjectorMain.class, env());
        SidecarProcess sidecar = SidecarProcess.start(TraceInjectorMain.class,
            env("EGRESS_ALLOW", "127.0.0.1:" + victim.port("admin")))) {
      HttpClient viaProxy = viaProxy(sidecar);
      HttpResponse<String> shutdown = viaProxy.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + victim.port("admin") + "/shutdown")).POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(shutdown.statusCode()).isEqualTo(403);
      assertThat(shutdown.body()).contains("through a proxy");
      assertThat(victim.admin("/readyz").statusCode()).isEqualTo(200);
      // Asked directly from loopback, it still stops.
      assertThat(victim.adminRequest("POST", "/shutdown").statusCode()).isEqualTo(202);
      assertThat(victim.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void theEgressPortListensOnLoopbackOnlyUnlessToldOtherwise() throws Exception {
    Optional<InetAddress> external = externalAddress();
    Assumptions.assumeTrue(external.isPresent(), "this host has no address besides loopback");
    Map<String, String> all = env("BIND_ADDRESS", "0.0.0.0");
    try (SidecarProcess sidecar = SidecarProcess.start(TraceInjectorMain.class, all)) {
      assertThat(connects(external.get(), sidecar.port("admin"))).as("the admin port, for probes").isTrue();
      assertThat(connects(external.get(), sidecar.port("proxy"))).as("the egress port").isFalse();
      assertThat(connects(InetAddress.getLoopbackAddress(), sidecar.port("proxy"))).isTrue();
    }
  }

  @Test
  void aChunkLongerThanItsDeclaredSizeIsRefusedWith400() throws Exception {
    try (Backend orders = Backend.start("orders");
        Injector injector = Injector.start(Map.of("UPSTREAMS", "orders=" + orders.url()))) {
      String answer = injector.raw("POST /orders/pay HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "5\r\nhelloEXTRA\r\n0\r\n\r\n");
      assertThat(answer).startsWith("HTTP/1.1 400").contains("malformed request body");
      assertThat(injector.metric("http_client_request_duration_seconds_count{http_request_method=\"POST\","
          + "http_response_status_code=\"400\",server_address=\"orders\"")).isEqualTo(1.0);
      assertThat(injector.get("/orders/next").statusCode()).as("the next call").isEqualTo(200);
    }
  }

  @Test
  void aForwardingLoopGets508() throws Exception {
    try (SidecarProcess sidecar = SidecarProcess.start(TraceInjectorMain.class, env("EGRESS_ALLOW", "127.0.0.1"))) {
      HttpClient viaProxy = viaProxy(sidecar);
      // Back to the sidecar itself: allowed by the entry, caught by its own Via.
      HttpResponse<String> loop = viaProxy.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + sidecar.port("proxy") + "/again")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(loop.statusCode()).isEqualTo(508);
      await().atMost(Duration.ofSeconds(10)).until(() -> accessLog(sidecar).stream()
          .anyMatch(j -> j.path("status").asInt() == 508 && j.path("flags").asText().equals("LD")));
      assertThat(metric(sidecar, "http_client_request_duration_seconds_count{http_request_method=\"GET\",http_response_status_code=\"508\""))
          .isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void slowAndFailingLookupsNeverStallOtherCalls() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    Map<String, AtomicInteger> lookups = new ConcurrentHashMap<>();
    HostResolver.Lookup lookup = host -> {
      lookups.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
      if (host.startsWith("slow")) {
        try {
          release.await(30, TimeUnit.SECONDS); // a resolver that takes its time
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (host.startsWith("missing")) {
        throw new UnknownHostException(host);
      }
      return InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1});
    };
    try (Backend orders = Backend.start("orders");
        Injector injector = Injector.startWithLookup(Map.of("UPSTREAMS", "orders=" + orders.url(),
            "EGRESS_ALLOW", "*.test,ok.test", "DNS_RESOLVER_THREADS", "2", "DNS_QUEUE_SIZE", "2", "UPSTREAM_TIMEOUT", "20s"),
            lookup)) {
      List<CompletableFuture<HttpResponse<String>>> slow = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        slow.add(CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + injector.port() + "/slow" + i + ".test/x"))
            .build(), HttpResponse.BodyHandlers.ofString()));
      }
      // Two lookups run and two wait; the others are answered at once.
      await().atMost(Duration.ofSeconds(10)).until(() -> slow.stream().filter(CompletableFuture::isDone).count() >= 6);
      for (var done : slow.stream().filter(CompletableFuture::isDone).toList()) {
        assertThat(done.get().statusCode()).isEqualTo(502);
        assertThat(done.get().headers().firstValue("X-Sidecar-Error")).hasValue("dns_resolution_failed");
      }
      assertThat(injector.metric("trace_injector_dns_failures_total{reason=\"queue_full\"}")).isGreaterThanOrEqualTo(6.0);

      // Meanwhile, with every resolver thread stuck: a listed upstream answers at once.
      long start = System.nanoTime();
      assertThat(injector.get("/orders/now").statusCode()).isEqualTo(200);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));

      release.countDown();
      // The stuck lookups finish and the queue empties before the next name is asked for, so it is looked up
      // rather than refused as queue_full.
      await().atMost(Duration.ofSeconds(30)).until(() -> slow.stream().allMatch(CompletableFuture::isDone));
      // A name that does not resolve: 502, counted, and the failure is kept for a while.
      HttpResponse<String> missing = injector.get("/missing.test/x");
      assertThat(missing.statusCode()).isEqualTo(502);
      assertThat(missing.headers().firstValue("X-Sidecar-Error")).hasValue("dns_resolution_failed");
      assertThat(injector.get("/missing.test/y").statusCode()).isEqualTo(502);
      assertThat(lookups.get("missing.test")).hasValue(1);
      assertThat(injector.metric("trace_injector_dns_failures_total{reason=\"not_found\"}")).isEqualTo(1.0);
    }
  }

  /**
   * Issue 16, item 3 on the Netty data plane: the names of {@code UPSTREAMS} are looked up when a pooled
   * connection is made, by the same resolver as the names of calls not listed, off the event loops. Every
   * event loop is tried (a fresh connection per call, dealt to the loops in turn) while one name's lookup hangs.
   */
  @Test
  void upstreamNamesAreLookedUpOffTheEventLoops() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    Map<String, AtomicInteger> lookups = new ConcurrentHashMap<>();
    HostResolver.Lookup lookup = host -> {
      lookups.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
      if (host.equals("blocked.test")) {
        try {
          release.await(30, TimeUnit.SECONDS); // a resolver that takes its time
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1});
    };
    try (Backend blocked = Backend.start("blocked");
        Backend orders = Backend.start("orders");
        Injector injector = Injector.startWithLookup(Map.of("UPSTREAMS",
            "blocked=http://blocked.test:" + blocked.port() + ",orders=http://orders.test:" + orders.port(),
            "EGRESS_ALLOW", "orders.test:" + orders.port()), lookup)) {
      CompletableFuture<HttpResponse<String>> first = CLIENT.sendAsync(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + injector.port() + "/blocked/first")).build(), HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(10)).until(() -> lookups.containsKey("blocked.test"));

      for (int i = 0; i < 2 * Runtime.getRuntime().availableProcessors(); i++) {
        String answer = injector.raw("GET /orders/n" + i + " HTTP/1.1\r\nHost: 127.0.0.1:" + injector.port()
            + "\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 200").endsWith("orders /n" + i);
      }
      // A call not listed, to the same name: the same resolver, so the same cached answer.
      assertThat(injector.getViaProxy("http://orders.test:" + orders.port() + "/direct").statusCode()).isEqualTo(200);
      assertThat(lookups.get("orders.test")).hasValue(1);
      assertThat(first).isNotDone();

      release.countDown();
      HttpResponse<String> answered = first.get(30, TimeUnit.SECONDS);
      assertThat(answered.statusCode()).isEqualTo(200);
      assertThat(answered.body()).isEqualTo("blocked /first");
      assertThat(blocked.last().header("Host")).isEqualTo("blocked.test:" + blocked.port());
    }
  }

  /**
   * An {@code UPSTREAMS} name that does not resolve (a reserved {@code .invalid} name, looked up by the
   * system's resolver as in production): 502 flagged {@code DF}, or {@code UNAVAILABLE} for a gRPC call, not a
   * refused connection; the next call is unharmed.
   */
  @Test
  void anUpstreamNameThatDoesNotResolveIsAnswered502FlaggedDnsFailure() throws Exception {
    try (Backend orders = Backend.start("orders");
        SidecarProcess sidecar = SidecarProcess.start(TraceInjectorMain.class, env("UPSTREAMS",
            "missing=http://missing.invalid:8080,orders=" + orders.url()))) {
      HttpResponse<String> missing = CLIENT.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + sidecar.port("proxy") + "/missing/x")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(missing.statusCode()).isEqualTo(502);
      assertThat(missing.headers().firstValue("X-Sidecar-Error")).hasValue("dns_resolution_failed");
      assertThat(missing.body()).contains("missing.invalid");
      JsonNode line = accessLogLine(sidecar, "/missing/x");
      assertThat(line.path("status").asInt()).isEqualTo(502);
      assertThat(line.path("flags").asText()).isEqualTo("DF");
      assertThat(metric(sidecar, "trace_injector_dns_failures_total{")).isGreaterThanOrEqualTo(1);

      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.port("proxy")).usePlaintext()
          .overrideAuthority("missing").build();
      try {
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO,
            CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[] {1}))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
              assertThat(e.getStatus().getDescription()).contains("missing.invalid").doesNotContain("refused");
            });
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      JsonNode call = accessLogLine(sidecar, "/" + GrpcApp.SERVICE + "/Echo");
      assertThat(call.path("flags").asText()).isEqualTo("DF");

      HttpResponse<String> next = CLIENT.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + sidecar.port("proxy") + "/orders/next")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(next.statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aResolvedNameIsLookedUpOnceWhileItsAnswerIsFresh() throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    try (Backend backend = Backend.start("backend");
        Injector injector = Injector.startWithLookup(Map.of("EGRESS_ALLOW", "ok.test:" + backend.port()), host -> {
          lookups.incrementAndGet();
          return InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1});
        })) {
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> response = injector.getViaProxy("http://ok.test:" + backend.port() + "/n" + i);
        assertThat(response.statusCode()).isEqualTo(200);
      }
      assertThat(lookups).hasValue(1);
      assertThat(backend.last().header("Host")).isEqualTo("ok.test:" + backend.port());
    }
  }

  @Test
  void badEgressVariablesStopTheSidecarNamingEach() {
    SidecarProcess.Result result = SidecarProcess.run(TraceInjectorMain.class, Map.of(
        "EGRESS_ALLOW", "ok.svc,bad host,x.svc:99999", "DNS_RESOLVER_THREADS", "none", "DNS_CACHE_TTL", "long"),
        Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("trace-injector: EGRESS_ALLOW=\"bad host\": expected"));
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("trace-injector: EGRESS_ALLOW=\"x.svc:99999\": expected"));
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("trace-injector: DNS_RESOLVER_THREADS=\"none\": expected"));
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("trace-injector: DNS_CACHE_TTL=\"long\": expected"));
  }

  /** A client that sends every request to the sidecar's egress port, as an app with HTTP_PROXY does. */
  private static HttpClient viaProxy(SidecarProcess sidecar) {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", sidecar.port("proxy")))).build();
  }

  private static boolean connects(InetAddress address, int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(address, port), 2000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static Optional<InetAddress> externalAddress() throws IOException {
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || nic.isLoopback()) {
        continue;
      }
      for (InetAddress address : Collections.list(nic.getInetAddresses())) {
        if (address instanceof Inet4Address && !address.isLinkLocalAddress()) {
          return Optional.of(address);
        }
      }
    }
    return Optional.empty();
  }

  private static double metric(SidecarProcess sidecar, String prefix) {
    return await().atMost(Duration.ofSeconds(10)).until(() -> sidecar.admin("/metrics").body().lines()
        .filter(l -> l.startsWith(prefix)).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum(),
        v -> v > 0);
  }

  private static JsonNode accessLogLine(SidecarProcess sidecar, String path) {
    return await().atMost(Duration.ofSeconds(10)).until(() -> accessLog(sidecar).stream()
        .filter(j -> j.path("path").asText().equals(path)).findFirst().orElse(null), j -> j != null);
  }

  private static List<JsonNode> accessLog(SidecarProcess sidecar) {
    return sidecar.stdout().stream().filter(l -> l.startsWith("{")).map(l -> {
      try {
        return JSON.readTree(l);
      } catch (IOException e) {
        throw new IllegalStateException(l, e);
      }
    }).toList();
  }
}
