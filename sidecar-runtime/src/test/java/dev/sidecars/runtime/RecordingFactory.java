package dev.sidecars.runtime;

import dev.sidecars.runtime.admin.Readiness;
import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A sidecar that listens on nothing and records what the runtime does to it; its drain holds until the
 * test releases it, so a test can look at the sidecar while it drains.
 */
final class RecordingFactory implements SidecarFactory<RecordingFactory.Config> {
  static final String NAME = "recorder";

  record Config(int limit, int port) {}

  final List<String> events = new CopyOnWriteArrayList<>();
  final CountDownLatch drainStarted = new CountDownLatch(1);
  final CountDownLatch releaseDrain = new CountDownLatch(1);
  volatile Optional<String> notReady = Optional.empty();
  volatile Duration drainBudget;
  volatile SidecarContext context;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int defaultAdminPort() {
    return 15099;
  }

  @Override
  public Config configure(Settings settings) {
    return new Config(settings.integer("RECORDER_LIMIT", 10, 1, 100), settings.port("RECORDER_PORT", 0));
  }

  @Override
  public SidecarComponent start(Config config, SidecarContext context) throws IOException {
    this.context = context;
    if (config.port() > 0) {
      // Binds and lets go at once: only a taken port matters here.
      new ServerSocket(config.port(), 1, InetAddress.getByName("127.0.0.1")).close();
    }
    context.registry().counter("recorder.started", "limit", String.valueOf(config.limit())).increment();
    events.add("start");
    return new SidecarComponent() {
      @Override
      public Map<String, Integer> ports() {
        return Map.of();
      }

      @Override
      public Readiness readiness() {
        return () -> notReady;
      }

      @Override
      public void drain(Duration budget) throws InterruptedException {
        drainBudget = budget;
        events.add("drain");
        drainStarted.countDown();
        releaseDrain.await(budget.toMillis(), TimeUnit.MILLISECONDS);
        events.add("drained");
      }

      @Override
      public void close() {
        events.add("close");
      }
    };
  }
}
