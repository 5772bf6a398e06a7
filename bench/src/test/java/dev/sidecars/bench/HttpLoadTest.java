package dev.sidecars.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HttpLoadTest {
  private static final long DRAIN = TimeUnit.SECONDS.toNanos(10);
  private static final byte[] KIB = "x".repeat(1024).getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();

  private void serve(HttpServer server) {
    server.createContext("/users/1", e -> answer(e, 200, KIB.length));
    server.createContext("/chunked", e -> answer(e, 200, 0)); // length 0: chunked
    server.createContext("/fail", e -> answer(e, 500, KIB.length));
    server.start();
  }

  private void answer(HttpExchange e, int status, long length) throws IOException {
    clientPorts.add(e.getRemoteAddress().getPort());
    e.sendResponseHeaders(status, length);
    try (OutputStream out = e.getResponseBody()) {
      out.write(KIB);
    }
  }

  /** 60 requests in 300 ms (20 in 200 ms over TLS, whose handshakes the JDK's server makes slowly). */
  private static CallStats paced(URI url, SSLContext tls, int connections) throws InterruptedException {
    try (Caller caller = new HttpLoad.Connections(url, tls, connections, 5000)) {
      return tls == null
          ? new CallLoad(Ticker.SYSTEM).paced(caller, connections, 200, TimeUnit.MILLISECONDS.toNanos(300), DRAIN)
          : new CallLoad(Ticker.SYSTEM).paced(caller, connections, 100, TimeUnit.MILLISECONDS.toNanos(200), DRAIN);
    }
  }

  @Test
  void readsWholeAnswersOnKeptAliveConnectionsAndCountsNon2xxAsFailures() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    serve(server);
    try {
      String base = "http://127.0.0.1:" + server.getAddress().getPort();
      CallStats plain = paced(URI.create(base + "/users/1"), null, 3);
      CallStats chunked = paced(URI.create(base + "/chunked"), null, 3);
      CallStats failing = paced(URI.create(base + "/fail"), null, 3);

      assertThat(plain.reasons()).isEmpty();
      assertThat(plain.ok()).isEqualTo(60);
      assertThat(chunked.reasons()).isEmpty();
      assertThat(chunked.ok()).isEqualTo(60);
      assertThat(failing.ok()).isZero();
      assertThat(failing.reasons()).containsExactly(java.util.Map.entry("HTTP 500", 60L));
      // 180 requests on three connections per run: each connection stayed open for all its requests.
      assertThat(clientPorts).hasSize(9);
    } finally {
      server.stop(0);
    }
  }

  @Test
  void presentsItsClientCertificateToAServerThatRequiresOne(@TempDir Path dir) throws Exception {
    Path ca = dir.resolve("ca.pem");
    openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key");
    openssl(dir, "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=test CA", "-days", "1", "-out", "ca.pem");
    issue(dir, "server", "subjectAltName=IP:127.0.0.1");
    issue(dir, "client", "subjectAltName=URI:spiffe://test/client");
    SSLContext serverTls = PemFiles.context(dir.resolve("server.pem"), dir.resolve("server.key"), ca);
    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(serverTls) {
      @Override
      public void configure(HttpsParameters params) {
        // Through SSLParameters: the server's default of "want" false would otherwise undo "need".
        javax.net.ssl.SSLParameters ssl = getSSLContext().getDefaultSSLParameters();
        ssl.setNeedClientAuth(true);
        params.setSSLParameters(ssl);
      }
    });
    serve(server);
    try {
      URI url = URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/users/1");
      CallStats withCertificate = paced(url, PemFiles.context(dir.resolve("client.pem"), dir.resolve("client.key"), ca), 2);
      CallStats without = paced(url, PemFiles.context(null, null, ca), 2);

      assertThat(withCertificate.reasons()).isEmpty();
      assertThat(withCertificate.ok()).isEqualTo(20);
      assertThat(without.ok()).isZero();
      assertThat(without.failed()).isEqualTo(20);
    } finally {
      server.stop(0);
    }
  }

  private static void issue(Path dir, String name, String san) throws Exception {
    openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + ".key");
    openssl(dir, "req", "-new", "-key", name + ".key", "-subj", "/CN=" + name, "-out", name + ".csr");
    java.nio.file.Files.writeString(dir.resolve(name + ".ext"), san + "\n");
    openssl(dir, "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "1", "-extfile", name + ".ext", "-out", name + ".pem");
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("openssl %s: %s", args[0], output).isZero();
  }
}
