package dev.sidecars.traceinjector.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import dev.sidecars.testing.tls.TestCa;
import dev.sidecars.testing.tls.TestCertificate;
import dev.sidecars.traceinjector.testing.Injector;
import dev.sidecars.traceinjector.testing.TlsServer;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * trace-injector as a TLS client, against upstreams made of the JDK's own TLS sockets with certificates made
 * here: {@code https://} upstreams verified by the CA file (host name and SNI), expected identities per
 * {@code UPSTREAMS} entry, {@code UPSTREAM_TLS=tls|mtls} upgrading the app's plain calls, each kind of bad
 * server certificate refused (502, counted by reason), a stalled handshake timed out, the ALPN offer per
 * {@code ;protocol=}, rotation of the client certificate while requests flow, and the server's identity on
 * the client span.
 */
class UpstreamTlsTest {
  @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();
  @TempDir static Path dir;

  static final String CHECKOUT = "spiffe://test.local/ns/shop/sa/checkout";
  static final String LEDGER = "spiffe://test.local/ns/shop/sa/ledger";
  static TestCa ca;
  static Path caFile;

  @BeforeAll
  static void certificates() {
    ca = TestCa.create("upstream-tls-test");
    caFile = ca.writeCertificate(dir.resolve("ca.crt"));
  }

  private static TlsServer server(TestCertificate certificate, boolean needClientAuth) {
    return new TlsServer(ca.sslContext(certificate), needClientAuth);
  }

  private static Map<String, String> env(String... nameValue) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("DRAIN_DELAY", "0s");
    for (int i = 0; i < nameValue.length; i += 2) {
      env.put(nameValue[i], nameValue[i + 1]);
    }
    return env;
  }

  private static double failures(Injector injector, String reason) {
    return injector.metric("tls_handshake_failures_total{reason=\"" + reason + "\"");
  }

  @Test
  void httpsUpstreamIsVerifiedAgainstTheCaFileByHostName() {
    try (TlsServer upstream = server(ca.leaf().dns("localhost").issue(), false);
        Injector injector = Injector.start(env("TLS_CA_FILE", caFile.toString(),
            "UPSTREAMS", "ledger=https://localhost:" + upstream.port()))) {
      HttpResponse<String> response = injector.get("/ledger/entries");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("none"); // no client certificate without UPSTREAM_TLS=mtls
      // The JDK sends SNI for dotted names only, so "localhost" is checked against the certificate but not sent.
      assertThat(upstream.alpnOffers()).containsExactly(List.of("h2", "http/1.1"));
    }
  }

  @Test
  void theAlpnOfferFollowsTheProtocolOption() {
    try (TlsServer upstream = server(ca.leaf().dns("localhost").issue(), false);
        Injector injector = Injector.start(env("TLS_CA_FILE", caFile.toString(),
            "UPSTREAMS", "ledger=https://localhost:" + upstream.port() + ";protocol=http1"))) {
      assertThat(injector.get("/ledger/entries").statusCode()).isEqualTo(200);
      assertThat(upstream.alpnOffers()).containsExactly(List.of("http/1.1"));
    }
  }

  @Test
  void aServerCertificateForAnotherNameIsRefusedAndCounted() {
    try (TlsServer upstream = server(ca.leaf().dns("ledger.example").issue(), false);
        Injector injector = Injector.start(env("TLS_CA_FILE", caFile.toString(), "RETRY_MAX", "0",
            "UPSTREAMS", "ledger=https://localhost:" + upstream.port()))) {
      HttpResponse<String> response = injector.get("/ledger/entries");
      assertThat(response.statusCode()).isEqualTo(502);
      assertThat(response.body()).contains("TLS handshake failed (bad_name)");
      assertThat(failures(injector, "bad_name")).isEqualTo(1);
      assertThat(upstream.clients()).isEmpty();
    }
  }

  @Test
  void untrustedAndExpiredServerCertificatesAreRefusedAndCountedByReason() {
    TestCa other = TestCa.create("someone-else");
    try (TlsServer untrusted = new TlsServer(other.sslContext(other.leaf().dns("localhost").issue()), false);
        TlsServer expired = server(ca.leaf().dns("localhost").expired().issue(), false);
        Injector injector = Injector.start(env("TLS_CA_FILE", caFile.toString(), "RETRY_MAX", "0",
            "UPSTREAMS", "a=https://localhost:" + untrusted.port() + ",b=https://localhost:" + expired.port()))) {
      assertThat(injector.get("/a/x").statusCode()).isEqualTo(502);
      assertThat(injector.get("/b/x").statusCode()).isEqualTo(502);
      assertThat(failures(injector, "untrusted")).isEqualTo(1);
      assertThat(failures(injector, "expired")).isEqualTo(1);
    }
  }

  @Test
  void withoutACaFileTheJdkTrustStoreDecides() {
    try (TlsServer upstream = server(ca.leaf().dns("localhost").issue(), false);
        Injector injector = Injector.start(env("RETRY_MAX", "0", "UPSTREAMS", "ledger=https://localhost:" + upstream.port()))) {
      assertThat(injector.get("/ledger/x").statusCode()).isEqualTo(502); // a test CA is in no JDK's store
      assertThat(failures(injector, "untrusted")).isEqualTo(1);
    }
  }

  @Test
  void anExpectedIdentityReplacesTheHostNameCheck() {
    // A mesh certificate: the workload's SPIFFE ID and a name that is not the one dialled.
    try (TlsServer upstream = server(ca.leaf().uri(LEDGER).dns("ledger.shop.svc").issue(), false);
        Injector injector = Injector.start(env("TLS_CA_FILE", caFile.toString(), "RETRY_MAX", "0",
            "UPSTREAMS", "ledger=https://localhost:" + upstream.port() + ";identity=spiffe://test.local/ns/x/sa/y;identity="
                + LEDGER + ",impostor=https://localhost:" + upstream.port() + ";identity=spiffe://test.local/ns/shop/sa/payment"))) {
      assertThat(injector.get("/ledger/x").statusCode()).isEqualTo(200);
      HttpResponse<String> wrong = injector.get("/impostor/x");
      assertThat(wrong.statusCode()).isEqualTo(502);
      assertThat(wrong.body()).contains("bad_name");
      assertThat(failures(injector, "bad_name")).isEqualTo(1);
      assertThat(upstream.clients()).hasSize(1);
    }
  }

  @Test
  void upstreamTlsMtlsSendsThePlainCallsOfUpstreamsOverMutualTls() {
    Path cert = dir.resolve("mtls.crt");
    Path key = dir.resolve("mtls.key");
    ca.leaf().uri(CHECKOUT).issue().writeTo(cert, key);
    try (TlsServer upstream = server(ca.leaf().dns("localhost").issue(), true);
        Injector injector = Injector.start(env("UPSTREAM_TLS", "mtls", "TLS_CERT_FILE", cert.toString(),
            "TLS_KEY_FILE", key.toString(), "TLS_CA_FILE", caFile.toString(),
            "UPSTREAMS", "ledger=http://localhost:" + upstream.port()))) {
      HttpResponse<String> response = injector.get("/ledger/entries");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo(CHECKOUT);
    }
  }

  @Test
  void upstreamTlsTlsVerifiesTheServerWithoutPresentingACertificate() {
    try (TlsServer upstream = server(ca.leaf().dns("localhost").issue(), false);
        Injector injector = Injector.start(env("UPSTREAM_TLS", "tls", "TLS_CA_FILE", caFile.toString(),
            "UPSTREAMS", "ledger=http://localhost:" + upstream.port()))) {
      HttpResponse<String> response = injector.get("/ledger/entries");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("none");
    }
  }

  @Test
  void aPlaintextListenerReceivesATlsClientHello() throws Exception {
    try (ServerSocket plain = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Injector injector = Injector.start(env("UPSTREAM_TLS", "tls", "TLS_CA_FILE", caFile.toString(), "RETRY_MAX", "0",
            "UPSTREAMS", "ledger=http://127.0.0.1:" + plain.getLocalPort()))) {
      CompletableFuture<Integer> firstByte = CompletableFuture.supplyAsync(() -> {
        try (Socket s = plain.accept()) {
          return s.getInputStream().read();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      });
      HttpResponse<String> response = injector.get("/ledger/entries");
      assertThat(firstByte.get()).as("a TLS handshake record").isEqualTo(0x16);
      assertThat(response.statusCode()).isEqualTo(502);
    }
  }

  @Test
  void aStalledHandshakeTimesOutAnswered502AndCounted() throws Exception {
    List<Socket> held = new CopyOnWriteArrayList<>();
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Injector injector = Injector.start(env("UPSTREAM_TLS", "tls", "TLS_CA_FILE", caFile.toString(), "RETRY_MAX", "0",
            "TLS_HANDSHAKE_TIMEOUT", "300ms", "UPSTREAMS", "ledger=http://127.0.0.1:" + silent.getLocalPort()))) {
      CompletableFuture.runAsync(() -> {
        try {
          held.add(silent.accept()); // accepted, never answered
        } catch (IOException e) {
          // closed
        }
      });
      long start = System.nanoTime();
      HttpResponse<String> response = injector.get("/ledger/entries");
      assertThat(response.statusCode()).isEqualTo(502);
      assertThat(response.body()).contains("timeout");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
      assertThat(failures(injector, "timeout")).isEqualTo(1);
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }

  @Test
  void aRotatedCertificateIsPresentedOnNewConnectionsWhileRequestsFlow() throws Exception {
    Path cert = dir.resolve("rotating.crt");
    Path key = dir.resolve("rotating.key");
    String before = "spiffe://test.local/ns/shop/sa/checkout-v1";
    String after = "spiffe://test.local/ns/shop/sa/checkout-v2";
    ca.leaf().uri(before).issue().writeTo(cert, key);
    try (TlsServer upstream = server(ca.leaf().dns("localhost").issue(), true);
        Injector injector = Injector.start(env("UPSTREAM_TLS", "mtls", "TLS_CERT_FILE", cert.toString(),
            "TLS_KEY_FILE", key.toString(), "TLS_CA_FILE", caFile.toString(),
            "UPSTREAMS", "ledger=http://localhost:" + upstream.port()))) {
      assertThat(injector.get("/ledger/warm").body()).isEqualTo(before);
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicInteger sent = new AtomicInteger();
      List<Integer> failed = new CopyOnWriteArrayList<>();
      List<CompletableFuture<Void>> callers = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        callers.add(CompletableFuture.runAsync(() -> {
          while (running.get()) {
            int status = injector.get("/ledger/flow").statusCode();
            sent.incrementAndGet();
            if (status != 200) {
              failed.add(status);
            }
          }
        }));
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> sent.get() >= 20);
      ca.leaf().uri(after).issue().writeTo(cert, key);
      int sentAtRotation = sent.get();
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        List<String> seen = upstream.clients(); // one copy: connections keep coming while it is read
        return seen.get(seen.size() - 1).equals(after);
      });
      await().atMost(Duration.ofSeconds(10)).until(() -> sent.get() >= sentAtRotation + 20);
      running.set(false);
      CompletableFuture.allOf(callers.toArray(CompletableFuture[]::new)).get();
      assertThat(failed).as("requests during the rotation").isEmpty();
      List<String> clients = upstream.clients();
      assertThat(clients).contains(before, after);
      // Once the new certificate is in use, new connections present it: at most the other caller's
      // handshake, begun before the rotation, ends later with the old one (handshakes are listed as they end).
      assertThat(clients.subList(clients.indexOf(after), clients.size())).filteredOn(before::equals).hasSizeLessThanOrEqualTo(1);
      assertThat(clients.subList(clients.size() - 10, clients.size())).containsOnly(after);
      assertThat(injector.metric("tls_certificate_reloads_total")).isEqualTo(1);
    }
  }

  @Test
  void theClientSpanCarriesTheServersVerifiedIdentity() {
    Map<String, String> env = new LinkedHashMap<>(collector.otelEnvironment());
    env.put("OTEL_SERVICE_NAME", "checkout-egress");
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    env.put("DRAIN_DELAY", "0s");
    env.put("TLS_CA_FILE", caFile.toString());
    try (TlsServer upstream = server(ca.leaf().uri(LEDGER).issue(), false)) {
      env.put("UPSTREAMS", "ledger=https://localhost:" + upstream.port() + ";identity=" + LEDGER);
      try (Injector injector = Injector.start(env)) {
        assertThat(injector.get("/ledger/entries").statusCode()).isEqualTo(200);
        List<Received<Span>> spans = collector.awaitSpans("checkout-egress", 1);
        Span client = spans.get(0).item();
        assertThat(attribute(client, "sidecar.peer.identity")).isEqualTo(LEDGER);
        assertThat(attribute(client, "tls.protocol.version")).isEqualTo("1.3");
      }
    }
  }

  @Test
  void theAccessLogNamesTheServersVerifiedIdentity() {
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    java.io.PrintStream original = System.out;
    try (TlsServer upstream = server(ca.leaf().uri(LEDGER).issue(), false)) {
      Injector injector;
      // The access log writes to the standard output it was given at start.
      System.setOut(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
      try {
        injector = Injector.start(env("TLS_CA_FILE", caFile.toString(), "ACCESS_LOG", "on",
            "UPSTREAMS", "ledger=https://localhost:" + upstream.port() + ";identity=" + LEDGER));
      } finally {
        System.setOut(original);
      }
      try (injector) {
        assertThat(injector.get("/ledger/entries").statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> captured.toString(java.nio.charset.StandardCharsets.UTF_8)
            .lines().anyMatch(l -> l.contains("\"peer\":\"" + LEDGER + "\"")));
      }
    }
  }

  private static String attribute(Span span, String key) {
    return span.getAttributesList().stream().filter(a -> a.getKey().equals(key)).map(KeyValue::getValue)
        .map(v -> v.getStringValue()).findFirst().orElse(null);
  }
}
