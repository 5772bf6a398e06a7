package dev.sidecars.runtime.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sidecars.testing.tls.TestCa;
import dev.sidecars.testing.tls.TestCertificate;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ServerTls} in a real Netty server, met by real clients (the JDK's HttpClient, SSLSocket, a raw
 * socket): ALPN, client certificates and identities, every refusal counted by reason, the handshake timeout,
 * permissive mode, and rotation.
 */
class ServerTlsTest {
  static final String PAYMENT = "spiffe://cluster.local/ns/shop/sa/payment";
  static final String CHECKOUT = "spiffe://cluster.local/ns/shop/sa/checkout";
  static final TestCa CA = TestCa.create("mesh-ca");
  static final TestCa STRANGER_CA = TestCa.create("stranger-ca");
  static final TestCertificate SERVER = CA.leaf().uri(PAYMENT).dns("localhost").ip("127.0.0.1").issue();
  static final TestCertificate CLIENT = CA.leaf().uri(CHECKOUT).issue();

  @TempDir Path dir;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final HandshakeFailures failures = new HandshakeFailures(meters, System::nanoTime);
  private TlsMaterialSource source;
  @RegisterExtension final TlsTestServers servers = new TlsTestServers();

  @BeforeEach
  void writeFiles() {
    SERVER.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    CA.writeCertificate(dir.resolve("ca.crt"));
    source = TlsMaterialSource.load(TlsFiles.of(dir.resolve("tls.crt"), dir.resolve("tls.key"), dir.resolve("ca.crt")),
        meters, Clock.systemUTC());
  }

  private int start(ServerTlsConfig.Mode mode) throws InterruptedException {
    return start(mode, Duration.ofSeconds(10));
  }

  private int start(ServerTlsConfig.Mode mode, Duration handshakeTimeout) throws InterruptedException {
    return servers.start(ServerTls.create(mode, source, failures, handshakeTimeout));
  }

  static HttpResponse<String> get(String url, SSLContext tls, HttpClient.Version version, String... headers)
      throws IOException, InterruptedException {
    HttpClient.Builder builder = HttpClient.newBuilder().version(version).connectTimeout(Duration.ofSeconds(5));
    if (tls != null) {
      builder.sslContext(tls);
    }
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return builder.build().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private void awaitCount(HandshakeFailureReason reason, long count) {
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(failures.count(reason)).isEqualTo(count));
  }

  @Test
  void alpnOffersH2AndHttp11AndTheServerTakesTheClientsChoice() throws Exception {
    int port = start(ServerTlsConfig.Mode.TLS);
    HttpResponse<String> h2 = get("https://127.0.0.1:" + port + "/", CA.sslContext(null), HttpClient.Version.HTTP_2);
    assertThat(h2.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(h2.body()).contains("protocol=H2\n", "identity=-\n", "xfcc=\n");
    HttpResponse<String> h1 = get("https://127.0.0.1:" + port + "/", CA.sslContext(null), HttpClient.Version.HTTP_1_1);
    assertThat(h1.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(h1.body()).contains("protocol=HTTP_1_1\n");
  }

  @Test
  void mtlsGivesTheAppTheVerifiedIdentityAndOnlyItsOwnForwardedClientCert() throws Exception {
    int port = start(ServerTlsConfig.Mode.MTLS);
    HttpResponse<String> response = get("https://127.0.0.1:" + port + "/", CA.sslContext(CLIENT),
        HttpClient.Version.HTTP_2, "X-Forwarded-Client-Cert", "By=spiffe://evil;URI=spiffe://cluster.local/ns/ops/sa/admin");
    PeerCertificate client = PeerCertificate.of(CLIENT.certificate());
    assertThat(response.body()).contains("identity=" + CHECKOUT + "\n",
        "xfcc=By=" + PAYMENT + ";Hash=" + client.sha256() + ";Subject=\"\";URI=" + CHECKOUT + "\n");
    assertThat(response.body()).doesNotContain("evil", "ops");
  }

  @Test
  void mtlsRefusesAClientWithoutACertificate() throws Exception {
    int port = start(ServerTlsConfig.Mode.MTLS);
    assertThat(refused(CA.sslContext(null), port)).isTrue();
    awaitCount(HandshakeFailureReason.NO_CLIENT_CERT, 1);
  }

  @Test
  void mtlsRefusesUntrustedExpiredAndNotYetValidClientCertificates() throws Exception {
    int port = start(ServerTlsConfig.Mode.MTLS);
    assertThat(refused(CA.sslContext(STRANGER_CA.leaf().uri(CHECKOUT).issue()), port)).isTrue();
    awaitCount(HandshakeFailureReason.UNTRUSTED, 1);
    assertThat(refused(CA.sslContext(CA.leaf().uri(CHECKOUT).expired().issue()), port)).isTrue();
    awaitCount(HandshakeFailureReason.EXPIRED, 1);
    assertThat(refused(CA.sslContext(CA.leaf().uri(CHECKOUT).notYetValid().issue()), port)).isTrue();
    awaitCount(HandshakeFailureReason.NOT_YET_VALID, 1);
    // The server is unharmed: a good client still gets through, on the JDK's HttpClient too.
    assertThat(refused(CA.sslContext(CLIENT), port)).isFalse();
    assertThat(get("https://127.0.0.1:" + port + "/", CA.sslContext(CLIENT), HttpClient.Version.HTTP_1_1).body())
        .contains("identity=" + CHECKOUT);
    assertThat(failures.count(HandshakeFailureReason.OTHER) + failures.count(HandshakeFailureReason.PROTOCOL)).isZero();
  }

  @Test
  void plaintextToATlsPortIsRefusedAndCounted() throws Exception {
    int port = start(ServerTlsConfig.Mode.TLS);
    try (Socket plain = new Socket("127.0.0.1", port)) {
      plain.setSoTimeout(10_000);
      plain.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: secret\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      assertThat(drain(plain.getInputStream())).isTrue();
    }
    awaitCount(HandshakeFailureReason.PLAINTEXT_ON_TLS_PORT, 1);
  }

  @Test
  void tlsToAPlaintextPortIsRefusedAndCountedAndPlaintextStillWorks() throws Exception {
    int port = start(ServerTlsConfig.Mode.OFF);
    assertThat(refused(CA.sslContext(null), port)).isTrue();
    awaitCount(HandshakeFailureReason.TLS_ON_PLAINTEXT_PORT, 1);
    assertThat(get("http://127.0.0.1:" + port + "/", null, HttpClient.Version.HTTP_1_1).body())
        .contains("protocol=CLEARTEXT", "identity=-");
  }

  /**
   * One attempt (the JDK's HttpClient retries a failed GET once): handshake, one request, the answer. True
   * when the server refused somewhere on the way; with TLS 1.3 a refused client certificate shows only when
   * reading, after the client's side of the handshake is done.
   */
  static boolean refused(SSLContext context, int port) {
    try (SSLSocket socket = handshake(context, port)) {
      return !request(socket).startsWith("HTTP/1.1 200");
    } catch (IOException e) {
      return true;
    }
  }

  @Test
  void aHandshakeThatStallsIsClosedAtTheTimeoutOnTlsAndPermissivePorts() throws Exception {
    for (ServerTlsConfig.Mode mode : new ServerTlsConfig.Mode[] {ServerTlsConfig.Mode.TLS, ServerTlsConfig.Mode.PERMISSIVE}) {
      int port = start(mode, Duration.ofMillis(300));
      long before = failures.count(HandshakeFailureReason.TIMEOUT);
      try (Socket silent = new Socket("127.0.0.1", port); Socket partial = new Socket("127.0.0.1", port)) {
        silent.setSoTimeout(10_000);
        partial.setSoTimeout(10_000);
        partial.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x00}); // the start of a record, then nothing
        partial.getOutputStream().flush();
        assertThat(drain(silent.getInputStream())).as(mode + ": closed by the server").isTrue();
        assertThat(drain(partial.getInputStream())).as(mode + ": closed by the server").isTrue();
      }
      awaitCount(HandshakeFailureReason.TIMEOUT, before + 2);
      servers.stopAll();
    }
  }

  /** Reads to the end; true when the peer closed (not our read timeout). */
  private static boolean drain(InputStream in) throws IOException {
    byte[] buffer = new byte[512];
    try {
      while (in.read(buffer) >= 0) {
        // alerts, if any
      }
      return true;
    } catch (java.net.SocketException reset) {
      return true;
    }
  }

  @Test
  void permissiveServesTlsWithOrWithoutClientCertificateAndPlaintextOnOnePort() throws Exception {
    int port = start(ServerTlsConfig.Mode.PERMISSIVE);
    assertThat(get("https://127.0.0.1:" + port + "/", CA.sslContext(CLIENT), HttpClient.Version.HTTP_2).body())
        .contains("protocol=H2", "identity=" + CHECKOUT);
    assertThat(get("https://127.0.0.1:" + port + "/", CA.sslContext(null), HttpClient.Version.HTTP_1_1).body())
        .contains("protocol=HTTP_1_1", "identity=-");
    assertThat(get("http://127.0.0.1:" + port + "/", null, HttpClient.Version.HTTP_1_1).body())
        .contains("protocol=CLEARTEXT", "identity=-");
    // A certificate that is sent must still be a good one.
    assertThat(refused(CA.sslContext(STRANGER_CA.leaf().uri(CHECKOUT).issue()), port)).isTrue();
    awaitCount(HandshakeFailureReason.UNTRUSTED, 1);
  }

  @Test
  void rotationReachesNewConnectionsWhileOpenOnesKeepTheirCertificateAndWork() throws Exception {
    int port = start(ServerTlsConfig.Mode.TLS);
    SSLContext client = CA.sslContext(null);
    try (SSLSocket before = handshake(client, port)) {
      assertThat(peerOf(before)).isEqualTo(SERVER.certificate());

      TestCertificate renewed = CA.leaf().uri(PAYMENT).ip("127.0.0.1").commonName("renewed").issue();
      renewed.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
      assertThat(source.poll()).as("first look: wait for the files to settle").isFalse();
      assertThat(source.poll()).isTrue();

      try (SSLSocket after = handshake(client, port)) {
        assertThat(peerOf(after)).isEqualTo(renewed.certificate());
      }
      assertThat(peerOf(before)).isEqualTo(SERVER.certificate());
      assertThat(request(before)).startsWith("HTTP/1.1 200 OK");
    }
  }

  @Test
  void aCaRemovedFromTheBundleByRotationNoLongerAdmitsItsClients() throws Exception {
    int port = start(ServerTlsConfig.Mode.MTLS);
    String url = "https://127.0.0.1:" + port + "/";
    assertThat(get(url, CA.sslContext(CLIENT), HttpClient.Version.HTTP_1_1).statusCode()).isEqualTo(200);
    STRANGER_CA.writeCertificate(dir.resolve("ca.crt"));
    source.poll();
    assertThat(source.poll()).isTrue();
    assertThat(refused(CA.sslContext(CLIENT), port)).isTrue();
    awaitCount(HandshakeFailureReason.UNTRUSTED, 1);
  }

  private static SSLSocket handshake(SSLContext context, int port) throws IOException {
    SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    socket.setSoTimeout(10_000);
    javax.net.ssl.SSLParameters parameters = socket.getSSLParameters();
    parameters.setApplicationProtocols(new String[] {"http/1.1"});
    socket.setSSLParameters(parameters);
    socket.startHandshake();
    return socket;
  }

  private static X509Certificate peerOf(SSLSocket socket) throws IOException {
    return (X509Certificate) socket.getSession().getPeerCertificates()[0];
  }

  private static String request(SSLSocket socket) throws IOException {
    socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
    byte[] buffer = new byte[4096];
    int n = socket.getInputStream().read(buffer);
    return n < 0 ? "" : new String(buffer, 0, n, StandardCharsets.US_ASCII);
  }

}
