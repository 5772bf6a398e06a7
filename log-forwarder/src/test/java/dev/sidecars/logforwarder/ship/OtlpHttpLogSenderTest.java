package dev.sidecars.logforwarder.ship;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ServerConnection;
import io.undertow.util.Headers;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The OTLP/HTTP sender against real servers: connections kept from export to export, answers read, and
 * the timeout holding for a collector that answers nothing or stops reading.
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
    return OtlpHttpLogSender.create(DefaultConfigProperties.createFromMap(Map.of(
        "otel.exporter.otlp.logs.endpoint", "http://127.0.0.1:" + port + "/v1/logs",
        "otel.exporter.otlp.protocol", "http/protobuf",
        "otel.exporter.otlp.timeout", timeout)), "test", 2);
  }

  /** An Undertow server answering each request with the given status (read body first), noting its connection. */
  private int collector(Set<ServerConnection> connections, int... statuses) {
    AtomicInteger requests = new AtomicInteger();
    Undertow server = Undertow.builder()
        .addHttpListener(0, "127.0.0.1")
        .setHandler(exchange -> exchange.getRequestReceiver().receiveFullBytes((HttpServerExchange ex, byte[] body) -> {
          connections.add(ex.getConnection());
          int status = statuses[Math.min(requests.getAndIncrement(), statuses.length - 1)];
          ex.setStatusCode(status);
          if (status == 503) {
            ex.getResponseHeaders().put(Headers.RETRY_AFTER, "7");
          }
          ex.getResponseSender().send("answer body of status " + status);
        }))
        .build();
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
