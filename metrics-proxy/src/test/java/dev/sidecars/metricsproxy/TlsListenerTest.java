package dev.sidecars.metricsproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.testing.SidecarProcess;
import dev.sidecars.testing.grpc.GrpcApp;
import dev.sidecars.testing.tls.TestCa;
import dev.sidecars.testing.tls.TestCertificate;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * metrics-proxy's listener with {@code TLS_MODE} set, met by real clients (the JDK's HttpClient over HTTP/1.1
 * and HTTP/2, {@code openssl s_client}, raw sockets): ALPN, the caller's identity on the span, in the access
 * log and in {@code X-Forwarded-Client-Cert}, every refusal counted by reason, permissive mode with both
 * kinds of client, and bad files at start.
 */
class TlsListenerTest {
  static final String PAYMENT = "spiffe://cluster.local/ns/shop/sa/payment";
  static final String CHECKOUT = "spiffe://cluster.local/ns/shop/sa/checkout";
  static final TestCa CA = TestCa.create("mesh-ca");
  static final TestCa STRANGER_CA = TestCa.create("stranger-ca");
  static final TestCertificate SERVER = CA.leaf().uri(PAYMENT).dns("localhost").ip("127.0.0.1").issue();
  static final TestCertificate CLIENT = CA.leaf().uri(CHECKOUT).issue();
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();

  @TempDir Path dir;
  private TestBackend backend;
  private ProxyUnderTest proxy;
  private final ByteArrayOutputStream accessLog = new ByteArrayOutputStream();

  @BeforeEach
  void start() {
    backend = new TestBackend();
    SERVER.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    CA.writeCertificate(dir.resolve("ca.crt"));
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    backend.close();
  }

  private ProxyUnderTest proxy(String mode, String... extra) {
    Map<String, String> env = new HashMap<>(collector.otelEnvironment());
    env.put("OTEL_SERVICE_NAME", "payment");
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    env.put("TARGET_URL", backend.url());
    env.put("ACCESS_LOG", "on");
    env.put("TLS_MODE", mode);
    env.put("TLS_CERT_FILE", dir.resolve("tls.crt").toString());
    env.put("TLS_KEY_FILE", dir.resolve("tls.key").toString());
    env.put("TLS_CA_FILE", dir.resolve("ca.crt").toString());
    proxy = ProxyUnderTest.start(new PrintStream(accessLog, true, StandardCharsets.UTF_8), env, extra);
    return proxy;
  }

  static HttpClient client(SSLContext tls, HttpClient.Version version) {
    return HttpClient.newBuilder().sslContext(tls).version(version).connectTimeout(Duration.ofSeconds(10)).build();
  }

  URI https(String path) {
    return URI.create("https://127.0.0.1:" + proxy.port() + path);
  }

  double failures(String reason) {
    return PrometheusText.value(proxy.admin("/metrics", null).body(), "tls_handshake_failures_total", "reason", reason)
        .orElse(-1);
  }

  List<JsonNode> accessLines() {
    return accessLines(accessLog);
  }

  /** The JSON lines of an access log written to {@code out}. */
  static List<JsonNode> accessLines(ByteArrayOutputStream out) {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith("{")) {
        try {
          lines.add(JSON.readTree(line));
        } catch (IOException e) {
          throw new IllegalStateException(line, e);
        }
      }
    }
    return lines;
  }

  @Test
  void mtlsServesHttp2AndHttp1ByAlpnAndTellsTheAppWhoCalled() throws Exception {
    proxy("mtls");
    for (HttpClient.Version version : List.of(HttpClient.Version.HTTP_2, HttpClient.Version.HTTP_1_1)) {
      HttpResponse<String> response = client(CA.sslContext(CLIENT), version).send(HttpRequest.newBuilder(https("/echo"))
          .header("X-Forwarded-Client-Cert", "By=spiffe://evil;URI=spiffe://cluster.local/ns/ops/sa/admin")
          .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e473" + (version == HttpClient.Version.HTTP_2 ? "6" : "7")
              + "-00f067aa0ba902b7-01")
          .POST(HttpRequest.BodyPublishers.ofString("hello")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("hello");
      assertThat(response.version()).as("ALPN picked what the client offered").isEqualTo(version);
      TestBackend.Seen seen = backend.seen.getLast();
      // The forged header is gone; the one the app sees names the verified caller, and this sidecar as By.
      assertThat(seen.headers().get("x-forwarded-client-cert")).hasSize(1);
      String xfcc = seen.header("x-forwarded-client-cert");
      assertThat(xfcc).startsWith("By=" + PAYMENT + ";Hash=").endsWith(";Subject=\"\";URI=" + CHECKOUT)
          .doesNotContain("evil", "ops");
      assertThat(seen.header("x-forwarded-proto")).isEqualTo("https");
    }
    Span span = collector.awaitTrace("4bf92f3577b34da6a3ce929d0e0e4736", 1).get(0).item();
    Map<String, String> attributes = TelemetryTest.attributes(span);
    assertThat(attributes).containsEntry("sidecar.peer.identity", CHECKOUT)
        .containsEntry("url.scheme", "https")
        .containsEntry("tls.protocol.name", "tls")
        .containsEntry("network.protocol.version", "2")
        .containsKey("tls.client.hash.sha256")
        .containsKey("tls.cipher");
    List<JsonNode> lines = await().until(this::accessLines, l -> l.size() == 2);
    assertThat(lines).allSatisfy(line -> assertThat(line.path("peer").asText()).isEqualTo(CHECKOUT));
  }

  @Test
  void mtlsRefusesEveryClientWithoutAGoodCertificateAndCountsWhy() throws Exception {
    proxy("mtls", "TLS_HANDSHAKE_TIMEOUT", "300ms");
    TestCertificate expired = CA.leaf().uri(CHECKOUT).expired().issue();
    TestCertificate future = CA.leaf().uri(CHECKOUT).notYetValid().issue();
    TestCertificate stranger = STRANGER_CA.leaf().uri(CHECKOUT).issue();
    Map<String, TestCertificate> refused = Map.of("expired", expired, "not_yet_valid", future, "untrusted", stranger);
    for (var entry : refused.entrySet()) {
      assertThat(requestOverTls(CA.sslContext(entry.getValue()))).as(entry.getKey()).doesNotContain("200 OK");
      await().untilAsserted(() -> assertThat(failures(entry.getKey())).as(entry.getKey()).isEqualTo(1));
    }
    assertThat(requestOverTls(CA.sslContext(null))).doesNotContain("200 OK");
    await().untilAsserted(() -> assertThat(failures("no_client_cert")).isEqualTo(1));

    // Plaintext to the TLS port: refused, counted, the request's bytes never logged.
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      socket.getOutputStream().write("GET /echo?secret=hunter2 HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readUntilClosed(socket)).doesNotContain("HTTP/1.1 200");
    }
    await().untilAsserted(() -> assertThat(failures("plaintext_on_tls_port")).isEqualTo(1));

    // A client that connects and never says anything is cut at the handshake timeout.
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      socket.setSoTimeout(10_000);
      assertThat(socket.getInputStream().read()).as("closed by the proxy").isEqualTo(-1);
    }
    await().untilAsserted(() -> assertThat(failures("timeout")).isEqualTo(1));
    assertThat(backend.seen).as("no refused client reached the app").isEmpty();
  }

  @Test
  void grpcOverMtlsReachesAGrpcAppAndAClientWithoutACertificateDoesNot() throws Exception {
    try (GrpcApp app = new GrpcApp()) {
      proxy("mtls", "TARGET_URL", app.url());
      Path clientCrt = CLIENT.writeTo(dir.resolve("client.crt"), dir.resolve("client.key"));
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).overrideAuthority("localhost")
          .sslContext(GrpcSslContexts.forClient().trustManager(dir.resolve("ca.crt").toFile())
              .keyManager(clientCrt.toFile(), dir.resolve("client.key").toFile()).build())
          .build();
      ManagedChannel anonymous = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).overrideAuthority("localhost")
          .sslContext(GrpcSslContexts.forClient().trustManager(dir.resolve("ca.crt").toFile()).build())
          .build();
      try {
        byte[] message = "over mTLS".getBytes(StandardCharsets.UTF_8);
        assertThat(ClientCalls.blockingUnaryCall(channel, GrpcApp.ECHO,
            CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), message)).isEqualTo(message);
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(anonymous, GrpcApp.ECHO,
            CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), message))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        await().untilAsserted(() -> assertThat(failures("no_client_cert")).isPositive());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        anonymous.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aConnectionIdleAfterItsHandshakeWaitsForTheIdleTimeoutNotTheHeaderTimeout() throws Exception {
    proxy("tls", "REQUEST_HEADER_TIMEOUT", "500ms");
    try (SSLSocket socket = (SSLSocket) CA.sslContext(null).getSocketFactory().createSocket("127.0.0.1", proxy.port())) {
      socket.startHandshake();
      // A pool that opens connections ahead of its requests: the handshake is no slow request head.
      await().pollDelay(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> true);
      socket.getOutputStream().write("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      assertThat(readUntilClosed(socket)).startsWith("HTTP/1.1 200");
    }
  }

  @Test
  void tlsOnAPlaintextPortIsRefusedAndCounted() throws Exception {
    proxy("off");
    assertThat(requestOverTls(CA.sslContext(CLIENT))).doesNotContain("200 OK");
    await().untilAsserted(() -> assertThat(failures("tls_on_plaintext_port")).isEqualTo(1));
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
    assertThat(backend.seen).hasSize(1);
  }

  @Test
  void xfccFromOutsideIsRemovedEvenWithoutTls() {
    proxy("off");
    HttpResponse<String> response = proxy.send(HttpRequest.newBuilder(proxy.uri("/echo"))
        .header("X-Forwarded-Client-Cert", "URI=spiffe://cluster.local/ns/ops/sa/admin").build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(backend.seen.getLast().header("x-forwarded-client-cert")).isNull();
  }

  @Test
  void permissiveServesPlaintextAndTlsClientsOnOnePort() throws Exception {
    proxy("permissive");
    assertThat(proxy.get("/echo").statusCode()).isEqualTo(200);
    assertThat(backend.seen.getLast().header("x-forwarded-client-cert")).isNull();
    HttpResponse<String> tls = client(CA.sslContext(CLIENT), HttpClient.Version.HTTP_2)
        .send(HttpRequest.newBuilder(https("/echo")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(tls.statusCode()).isEqualTo(200);
    assertThat(tls.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(backend.seen.getLast().header("x-forwarded-client-cert")).endsWith("URI=" + CHECKOUT);
    // TLS without a client certificate is let in, without an identity.
    HttpResponse<String> anonymous = client(CA.sslContext(null), HttpClient.Version.HTTP_1_1)
        .send(HttpRequest.newBuilder(https("/echo")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(anonymous.statusCode()).isEqualTo(200);
    assertThat(backend.seen.getLast().header("x-forwarded-client-cert")).isNull();
    // And openssl, offering h2 first, gets h2.
    String out = sClient(proxy.port(), "-alpn", "h2,http/1.1", "-cert", CLIENT.writeTo(dir.resolve("c.crt"),
        dir.resolve("c.key")).toString(), "-key", dir.resolve("c.key").toString());
    assertThat(out).contains("Verification: OK", "ALPN protocol: h2");
  }

  @Test
  void rotatedCertificatesReachNewConnectionsWhileRequestsFlowAndABadFileKeepsTheOld() throws Exception {
    proxy("mtls");
    HttpClient keepAlive = client(CA.sslContext(CLIENT), HttpClient.Version.HTTP_2);
    assertThat(keepAlive.send(HttpRequest.newBuilder(https("/echo")).build(), HttpResponse.BodyHandlers.ofString())
        .statusCode()).isEqualTo(200);
    String before = serverCertificateSerial();

    // A new certificate (same CA), and a bundle that also holds a second CA, whose clients are then admitted.
    TestCa nextCa = TestCa.create("mesh-ca-2");
    TestCa.writeBundle(dir.resolve("ca.crt.next"), CA, nextCa);
    Files.move(dir.resolve("ca.crt.next"), dir.resolve("ca.crt"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    CA.leaf().uri(PAYMENT).dns("localhost").ip("127.0.0.1").issue().writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    int[] sent = {0};
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
      // Requests keep flowing on the connection opened before: none fails.
      assertThat(keepAlive.send(HttpRequest.newBuilder(https("/echo")).build(), HttpResponse.BodyHandlers.ofString())
          .statusCode()).isEqualTo(200);
      sent[0]++;
      return !serverCertificateSerial().equals(before);
    });
    assertThat(sent[0]).isPositive();
    assertThat(PrometheusText.value(proxy.admin("/metrics", null).body(), "tls_certificate_reloads_total")).hasValue(1);
    TestCertificate nextClient = nextCa.leaf().uri(CHECKOUT).issue();
    assertThat(client(CA.sslContext(nextClient), HttpClient.Version.HTTP_1_1)
        .send(HttpRequest.newBuilder(https("/echo")).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(200);

    // A bad file: the material in use stays, an ERROR is logged and counted once.
    String good = serverCertificateSerial();
    Files.writeString(dir.resolve("tls.crt"), "not a certificate\n");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(PrometheusText.value(
        proxy.admin("/metrics", null).body(), "tls_certificate_reload_failures_total")).hasValue(1));
    assertThat(serverCertificateSerial()).isEqualTo(good);
    assertThat(keepAlive.send(HttpRequest.newBuilder(https("/echo")).build(), HttpResponse.BodyHandlers.ofString())
        .statusCode()).isEqualTo(200);
  }

  @Test
  void expiryIsAMetric() {
    TestCertificate soon = CA.leaf().uri(PAYMENT).ip("127.0.0.1").validUntil(java.time.Instant.now().plus(Duration.ofHours(2)))
        .issue();
    soon.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    proxy("tls");
    assertThat(PrometheusText.value(proxy.admin("/metrics", null).body(), "tls_certificate_expiry_timestamp_seconds"))
        .hasValue((double) soon.certificate().getNotAfter().toInstant().getEpochSecond());
  }

  @Test
  void aBadCertificateFileAtStartIsOneLineNamingTheVariableAndExitTwo() {
    Path key = dir.resolve("pkcs1.key");
    try {
      Files.writeString(key, SERVER.traditionalPrivateKeyPem());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    SidecarProcess.Result result = SidecarProcess.run(MetricsProxyMain.class, Map.of("ADMIN_PORT", "0", "PROXY_PORT", "0",
        "TLS_MODE", "mtls", "TLS_CERT_FILE", dir.resolve("tls.crt").toString(), "TLS_KEY_FILE", key.toString(),
        "TLS_CA_FILE", dir.resolve("ca.crt").toString()), Duration.ofSeconds(30));
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.stderr()).anyMatch(l -> l.startsWith("metrics-proxy: TLS_KEY_FILE=\"" + key + "\": expected")
        && l.contains("PKCS#8"));
  }

  /**
   * One HTTP/1.1 request over one TLS connection (the JDK's HttpClient would retry a refused handshake, and
   * so be counted twice): what came back, or the exception.
   */
  private String requestOverTls(SSLContext tls) {
    try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", proxy.port())) {
      socket.startHandshake();
      socket.getOutputStream().write("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      return readUntilClosed(socket);
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** The serial number of the certificate a new connection is shown, in hex. */
  private String serverCertificateSerial() throws IOException {
    try (SSLSocket socket = (SSLSocket) CA.sslContext(CLIENT).getSocketFactory().createSocket("127.0.0.1", proxy.port())) {
      socket.startHandshake();
      return ((java.security.cert.X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber().toString(16);
    } catch (SSLHandshakeException e) {
      throw new IllegalStateException(e);
    }
  }

  private String sClient(int port, String... options) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
        "-CAfile", dir.resolve("ca.crt").toString(), "-verify_return_error"));
    command.addAll(List.of(options));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      process.getOutputStream().close();
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("s_client finished").isTrue();
      return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } finally {
      process.destroyForcibly();
    }
  }

  private static String readUntilClosed(Socket socket) throws IOException {
    socket.setSoTimeout(10_000);
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      in.transferTo(out);
    } catch (java.net.SocketException e) {
      // reset by the proxy: closed
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }
}
