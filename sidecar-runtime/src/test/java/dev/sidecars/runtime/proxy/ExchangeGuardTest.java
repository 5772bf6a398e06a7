package dev.sidecars.runtime.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.WeakReference;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link ExchangeGuard} on a real {@link ProxyServer}, with real sockets. */
class ExchangeGuardTest {
  private final ProxyEventLoops loops = new ProxyEventLoops(1, "guard-test");
  private ProxyServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    loops.close();
  }

  /**
   * Every request with a body arms the body timer. Once the exchange has ended, nothing may hold it for the
   * rest of REQUEST_BODY_TIMEOUT: at 1,000 calls/s and the default 30 s, 30,000 finished exchanges (streams,
   * spans, buffers) filled a 128 MB heap and the proxy died of OutOfMemoryError under a gRPC benchmark.
   */
  @Test
  void finishedExchangesAreNotHeldByTheBodyTimer() throws IOException {
    List<WeakReference<ProxyExchange>> seen = new CopyOnWriteArrayList<>();
    ExchangeHandler answer = exchange -> {
      seen.add(new WeakReference<>(exchange));
      exchange.onRequestBody((ex, bytes, last) -> {
        if (last) {
          ex.respond(200, "OK", null);
        }
      });
    };
    server = ProxyServer.start(new ProxyServer.Settings("127.0.0.1", 0, 16 * 1024, Duration.ofSeconds(10), Duration.ofMinutes(5)),
        new ExchangeGuard(answer, null, null, new ExchangeGuard.Limits(0, 0, Duration.ofHours(1))), loops);

    for (int i = 0; i < 20; i++) {
      assertThat(post("/upload/" + i, "a".repeat(100))).startsWith("HTTP/1.1 200");
    }

    assertThat(seen).hasSize(20);
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
      System.gc();
      return seen.stream().allMatch(ref -> ref.get() == null);
    });
  }

  /** One request on its own connection, closed after the answer, so no connection state holds the exchange. */
  private String post(String path, String body) throws IOException {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST " + path + " HTTP/1.1\r\nHost: app\r\nConnection: close\r\nContent-Length: " + body.length()
          + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
  }
}
