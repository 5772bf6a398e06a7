package dev.sidecars.runtime.tls;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The {@link TlsTestServer}s one test starts, closed after it ({@code @RegisterExtension}). Servers and
 * test clients share one daemon event loop for the whole test run.
 */
final class TlsTestServers implements AfterEachCallback {
  static final EventLoopGroup GROUP =
      new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("tls-test", true), NioIoHandler.newFactory());

  private final List<TlsTestServer> started = new ArrayList<>();

  /** Starts a server behind {@code tls} on a free port of 127.0.0.1; returns the port. */
  int start(ServerTls tls) throws InterruptedException {
    TlsTestServer server = new TlsTestServer(GROUP, tls);
    started.add(server);
    return server.port();
  }

  void stopAll() {
    started.forEach(TlsTestServer::close);
    started.clear();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    stopAll();
  }
}
