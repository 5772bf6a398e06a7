package dev.sidecars.logforwarder.ship;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ServerConnection;
import io.undertow.util.Headers;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OTLP/HTTP sender against real servers: connections kept from export to export, answers read, the
 * timeout holding for a collector that answers nothing or stops reading, and TLS with the configured
 * certificate.
 */
class OtlpHttpLogSenderTest {
  private final List<AutoCloseable> closing = new ArrayList<>();
  private OtlpHttpLogSender sender;

  @AfterEach
  void close() throws Exception {
    if (sender != null) {
      sender.shutdown();
    }
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private OtlpHttpLogSender sender(int port, String timeout) {
    return sender(Map.of("otel.exporter.otlp.logs.endpoint", "http://127.0.0.1:" + port + "/v1/logs",
        "otel.exporter.otlp.timeout", timeout));
  }

  private OtlpHttpLogSender sender(Map<String, String> config) {
    Map<String, String> all = new HashMap<>(config);
    all.put("otel.exporter.otlp.protocol", "http/protobuf");
    return OtlpHttpLogSender.create(DefaultConfigProperties.createFromMap(all), "test", 2);
  }

  /** An Undertow server answering each request with the given status (read body first), noting its connection. */
  private int collector(Set<ServerConnection> connections, int... statuses) {
    AtomicInteger requests = new AtomicInteger();
    return serve(Undertow.builder()
        .addHttpListener(0, "127.0.0.1")
        .setHandler(exchange -> exchange.getRequestReceiver().receiveFullBytes((HttpServerExchange ex, byte[] body) -> {
          connections.add(ex.getConnection());
          int status = statuses[Math.min(requests.getAndIncrement(), statuses.length - 1)];
          ex.setStatusCode(status);
          if (status == 503) {
            ex.getResponseHeaders().put(Headers.RETRY_AFTER, "7");
          }
          ex.getResponseSender().send("answer body of status " + status);
        })));
  }

  /** Starts the server, stopped after the test; its port. */
  private int serve(Undertow.Builder builder) {
    Undertow server = builder.build();
    server.start();
    closing.add(server::stop);
    return ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
  }

  @Test
  void exportsOneAfterAnotherShareOneConnectionEvenAcrossErrorAnswers() throws Exception {
    Set<ServerConnection> connections = ConcurrentHashMap.newKeySet();
    sender = sender(collector(connections, 200, 503, 200, 200), "10s");
    byte[] request = new byte[100_000];

    SendResult first = sender.send(request, request.length, 0);
    SendResult throttled = sender.send(request, request.length, 0);
    SendResult third = sender.send(request, 10, 0);
    SendResult fourth = sender.send(request, request.length, 0);

    assertThat(first.outcome()).isEqualTo(ExportOutcome.ACCEPTED);
    assertThat(throttled.outcome()).isEqualTo(ExportOutcome.RETRY);
    assertThat(throttled.retryAfter()).contains(Duration.ofSeconds(7));
    assertThat(throttled.description()).isEqualTo("HTTP 503");
    assertThat(third.outcome()).isEqualTo(ExportOutcome.ACCEPTED);
    assertThat(fourth.outcome()).isEqualTo(ExportOutcome.ACCEPTED);
    // The error answer's body was read to its end, so even that connection went back to be kept.
    assertThat(connections).hasSize(1);
  }

  private static void keytool(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("keytool " + String.join(" ", args) + ": " + output).isZero();
  }

  @Test
  void overTlsTheCollectorIsTrustedByTheCertificateConfiguredAndByNoOtherMeans(@TempDir Path dir) throws Exception {
    Path keystore = dir.resolve("collector.p12");
    Path certificate = dir.resolve("collector.pem");
    keytool("-genkeypair", "-alias", "collector", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
        "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(),
        "-storepass", "changeit", "-keypass", "changeit");
    keytool("-exportcert", "-rfc", "-alias", "collector", "-keystore", keystore.toString(), "-storepass", "changeit",
        "-file", certificate.toString());
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      keys.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, "changeit".toCharArray());
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(keyManagers.getKeyManagers(), null, null);
    int port = serve(Undertow.builder()
        .addHttpsListener(0, "127.0.0.1", tls)
        .setHandler(exchange -> exchange.getResponseSender().send("")));
    String endpoint = "https://127.0.0.1:" + port + "/v1/logs";

    sender = sender(Map.of("otel.exporter.otlp.logs.endpoint", endpoint,
        "otel.exporter.otlp.logs.certificate", certificate.toString()));
    SendResult trusted = sender.send(new byte[10], 10, 1);
    sender.shutdown();
    sender = sender(Map.of("otel.exporter.otlp.logs.endpoint", endpoint));
    SendResult untrusted = sender.send(new byte[10], 10, 1);

    assertThat(trusted.outcome()).as(trusted.description()).isEqualTo(ExportOutcome.ACCEPTED);
    assertThat(untrusted.outcome()).isEqualTo(ExportOutcome.RETRY);
    assertThat(untrusted.description()).contains("SSLHandshakeException");
  }

  /** A server that accepts connections and then neither reads nor answers. */
  private int silentCollector() throws IOException {
    ServerSocket server = new ServerSocket();
    server.setReceiveBufferSize(4096); // keeps what the kernel takes in before writes block small
    server.bind(new InetSocketAddress("127.0.0.1", 0));
    List<Socket> accepted = new ArrayList<>();
    Thread acceptor = new Thread(() -> {
      try {
        while (true) {
          accepted.add(server.accept()); // kept open, never read
        }
      } catch (IOException closed) {
        // the test is over
      }
    }, "silent-collector");
    acceptor.setDaemon(true);
    acceptor.start();
    closing.add(() -> {
      server.close();
      for (Socket s : accepted) {
        s.close();
      }
    });
    return server.getLocalPort();
  }

  @Test
  @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a blocked socket write ignores interrupts
  void aCollectorThatNeverAnswersIsGivenUpOnAfterTheTimeout() throws Exception {
    sender = sender(silentCollector(), "500ms");
    long start = System.nanoTime();

    SendResult result = sender.send(new byte[100], 100, 1);

    assertThat(result.outcome()).isEqualTo(ExportOutcome.RETRY);
    assertThat(result.description()).isEqualTo("no answer within 500 ms");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(450), Duration.ofSeconds(5));
  }

  @Test
  @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aSenderThreadInterruptedBeforeAnExportDoesNotStartIt() throws Exception {
    // Shipping that is abandoned interrupts its senders; blocking socket I/O would not notice until the timeout.
    sender = sender(silentCollector(), "60s");
    Thread.currentThread().interrupt();

    assertThatThrownBy(() -> sender.send(new byte[100], 100, 1)).isInstanceOf(InterruptedException.class);
  }

  @Test
  @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a blocked socket write ignores interrupts
  void aCollectorThatStopsReadingCannotHoldAnExportPastTheTimeout() throws Exception {
    // 64 MB cannot fit in the socket buffers of both ends, so the write itself blocks: no read timeout
    // applies to it, only the export's deadline.
    sender = sender(silentCollector(), "700ms");
    byte[] request = new byte[64 * 1024 * 1024];
    long start = System.nanoTime();

    SendResult result = sender.send(request, request.length, 1);

    assertThat(result.outcome()).isEqualTo(ExportOutcome.RETRY);
    assertThat(result.description()).isEqualTo("no answer within 700 ms");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(650), Duration.ofSeconds(5));
  }
}
