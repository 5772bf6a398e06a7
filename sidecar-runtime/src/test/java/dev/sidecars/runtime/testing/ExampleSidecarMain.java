package dev.sidecars.runtime.testing;

import dev.sidecars.runtime.Sidecar;
import dev.sidecars.runtime.SidecarComponent;
import dev.sidecars.runtime.SidecarContext;
import dev.sidecars.runtime.SidecarFactory;
import dev.sidecars.runtime.admin.Readiness;
import dev.sidecars.runtime.config.Settings;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A sidecar run as a real child process by the tests: it has simulated in-flight requests that finish
 * one by one only once the drain starts (about 2.5 seconds in all), prints {@code drained} when the last
 * one is done and {@code closed} when the runtime closes it.
 */
public final class ExampleSidecarMain {
  public static final String NAME = "example-sidecar";

  private ExampleSidecarMain() {}

  public static void main(String[] args) {
    Sidecar.main(new ExampleFactory());
  }

  /** The example's own configuration: how many requests are in flight when the stop comes. */
  record Config(int inFlight) {}

  static final class ExampleFactory implements SidecarFactory<Config> {
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
      return new Config(settings.integer("EXAMPLE_IN_FLIGHT", 5, 1, 1000));
    }

    @Override
    public SidecarComponent start(Config config, SidecarContext context) {
      return new ExampleComponent(config.inFlight());
    }
  }

  static final class ExampleComponent implements SidecarComponent {
    private final AtomicInteger inFlight;
    private final CountDownLatch idle = new CountDownLatch(1);
    private final ScheduledExecutorService requests =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "example-requests");
              t.setDaemon(true);
              return t;
            });

    ExampleComponent(int inFlight) {
      this.inFlight = new AtomicInteger(inFlight);
    }

    @Override
    public Map<String, Integer> ports() {
      return Map.of();
    }

    @Override
    public Readiness readiness() {
      return Readiness.ALWAYS;
    }

    @Override
    public void drain(Duration budget) throws InterruptedException {
      // One simulated request completes every 500 ms from now on: five take 2.5 s, long enough for a test
      // polling /readyz on a loaded machine to see readiness drop before the drain ends.
      requests.scheduleAtFixedRate(
          () -> {
            if (inFlight.decrementAndGet() <= 0) {
              idle.countDown();
            }
          },
          500,
          500,
          TimeUnit.MILLISECONDS);
      if (idle.await(budget.toMillis(), TimeUnit.MILLISECONDS)) {
        System.out.println("drained");
      } else {
        System.out.println("drain cut short with " + inFlight.get() + " in flight");
      }
      System.out.flush();
    }

    @Override
    public void close() {
      requests.shutdownNow();
      System.out.println("closed");
      System.out.flush();
    }
  }
}
