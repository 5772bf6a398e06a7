package dev.sidecars.runtime.tls;

import static dev.sidecars.runtime.tls.ServerTlsTest.CA;
import static dev.sidecars.runtime.tls.ServerTlsTest.CHECKOUT;
import static dev.sidecars.runtime.tls.ServerTlsTest.CLIENT;
import static dev.sidecars.runtime.tls.ServerTlsTest.PAYMENT;
import static dev.sidecars.runtime.tls.ServerTlsTest.SERVER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The listener against another TLS implementation: Debian's {@code openssl s_client} (OpenSSL 3), the
 * tool operators reach for first. mTLS with and without a client certificate, permissive mode with both
 * kinds of client, ALPN, and the TLS 1.2 floor.
 */
class OpensslInteropTest {
  private static final String REQUEST = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

  @TempDir Path dir;
  private final HandshakeFailures failures = new HandshakeFailures(new SimpleMeterRegistry(), System::nanoTime);
  private TlsMaterialSource source;
  @RegisterExtension final TlsTestServers servers = new TlsTestServers();

  @BeforeEach
  void writeFiles() {
    SERVER.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    CLIENT.writeTo(dir.resolve("client.crt"), dir.resolve("client.key"));
    CA.writeCertificate(dir.resolve("ca.crt"));
    source = TlsMaterialSource.load(TlsFiles.of(dir.resolve("tls.crt"), dir.resolve("tls.key"), dir.resolve("ca.crt")),
        new SimpleMeterRegistry(), Clock.systemUTC());
  }

  private int start(ServerTlsConfig.Mode mode) throws InterruptedException {
    return servers.start(ServerTls.create(mode, source, failures, Duration.ofSeconds(10)));
  }

  /** Runs s_client with {@code stdin} as what it sends; returns everything it printed. */
  private String sClient(int port, String stdin, String... options) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
        "-servername", "localhost", "-CAfile", dir.resolve("ca.crt").toString(), "-verify_return_error",
        "-verify_hostname", "localhost"));
    if (!stdin.isEmpty()) {
      command.add("-ign_eof"); // keep reading after our request until the server closes
    }
    command.addAll(List.of(options));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      process.getOutputStream().write(stdin.getBytes(StandardCharsets.US_ASCII));
      process.getOutputStream().close();
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("s_client finished").isTrue();
      return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } finally {
      process.destroyForcibly();
    }
  }

  private String[] clientCertificate() {
    return new String[] {"-cert", dir.resolve("client.crt").toString(), "-key", dir.resolve("client.key").toString()};
  }

  @Test
  void mtlsAdmitsAVerifiedClientAndNamesIt() throws Exception {
    int port = start(ServerTlsConfig.Mode.MTLS);
    String out = sClient(port, REQUEST, concat(clientCertificate(), "-alpn", "http/1.1"));
    assertThat(out).contains("Verification: OK", "ALPN protocol: http/1.1", "HTTP/1.1 200 OK",
        "identity=" + CHECKOUT, "xfcc=By=" + PAYMENT + ";");

    String h2 = sClient(port, "", concat(clientCertificate(), "-alpn", "h2,http/1.1"));
    assertThat(h2).contains("ALPN protocol: h2", "New, TLSv1.3");
  }

  @Test
  void mtlsRefusesAClientWithoutACertificate() throws Exception {
    int port = start(ServerTlsConfig.Mode.MTLS);
    String out = sClient(port, REQUEST, "-alpn", "http/1.1");
    // The JDK answers an empty chain with alert 42 (bad_certificate), after OpenSSL's side of TLS 1.3 is done.
    assertThat(out).doesNotContain("HTTP/1.1 200").contains("SSL alert number 42");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(failures.count(HandshakeFailureReason.NO_CLIENT_CERT)).isEqualTo(1));
  }

  @Test
  void permissiveTakesOpensslWithAndWithoutCertificateAndPlaintextOnOnePort() throws Exception {
    int port = start(ServerTlsConfig.Mode.PERMISSIVE);
    assertThat(sClient(port, REQUEST, clientCertificate())).contains("HTTP/1.1 200 OK", "identity=" + CHECKOUT);
    assertThat(sClient(port, REQUEST)).contains("HTTP/1.1 200 OK", "protocol=HTTP_1_1", "identity=-");
    assertThat(ServerTlsTest.get("http://127.0.0.1:" + port + "/", null, HttpClient.Version.HTTP_1_1).body())
        .contains("protocol=CLEARTEXT");
  }

  @Test
  void tlsBelowVersion12IsRefused() throws Exception {
    int port = start(ServerTlsConfig.Mode.TLS);
    String out = sClient(port, REQUEST, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
    assertThat(out).doesNotContain("HTTP/1.1 200");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(failures.count(HandshakeFailureReason.PROTOCOL)).isEqualTo(1));
  }

  private static String[] concat(String[] first, String... more) {
    String[] all = new String[first.length + more.length];
    System.arraycopy(first, 0, all, 0, first.length);
    System.arraycopy(more, 0, all, first.length, more.length);
    return all;
  }
}
