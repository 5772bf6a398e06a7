package dev.sidecars.demo.load;

import dev.sidecars.demo.services.DemoServer;
import dev.sidecars.runtime.config.Settings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The demo's gentle load: {@code RATE} payments a second (default 2) to {@code TARGET_URL}{@code /payments},
 * the payment service's entry through its metrics-proxy, with a summary line every 10 seconds. It sends no
 * trace headers, as an uninstrumented caller would: the metrics-proxy starts each trace.
 */
public final class LoadGenerator {
  private LoadGenerator() {}

  public static void main(String[] args) {
    Settings env = Settings.fromEnvironment();
    URI target = URI.create(DemoServer.url(env, "TARGET_URL", "http://localhost:15001") + "/payments");
    int rate = env.integer("RATE", 2, 1, 1000);
    DemoServer.validateOrExit(env);
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    AtomicLong sent = new AtomicLong();
    AtomicLong ok = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    long periodMicros = 1_000_000L / rate;
    timer.scheduleAtFixedRate(() -> {
      sent.incrementAndGet();
      HttpRequest request = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(30))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(payment())).build();
      client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, error) -> {
        if (error == null && response.statusCode() < 300) {
          ok.incrementAndGet();
        } else {
          failed.incrementAndGet();
        }
      });
    }, 0, periodMicros, TimeUnit.MICROSECONDS);
    timer.scheduleAtFixedRate(() -> System.out.printf(Locale.ROOT, "load-generator: sent %d, ok %d, failed %d%n",
        sent.get(), ok.get(), failed.get()), 10, 10, TimeUnit.SECONDS);
    System.out.printf(Locale.ROOT, "load-generator demo sending %d payments/s to %s%n", rate, target);
    System.out.flush();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      timer.shutdownNow();
      System.out.printf(Locale.ROOT, "load-generator: sent %d, ok %d, failed %d%n", sent.get(), ok.get(),
          failed.get());
      Runtime.getRuntime().halt(0);
    }));
  }

  private static String payment() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return String.format(Locale.ROOT, "{\"amount\":%d.%02d,\"currency\":\"EUR\",\"card\":\"4111%012d\"}",
        random.nextInt(1, 500), random.nextInt(100), random.nextLong(1_000_000_000_000L));
  }
}
