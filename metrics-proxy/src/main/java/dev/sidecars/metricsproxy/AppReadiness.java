package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.admin.Readiness;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Whether the app answers its health path 2xx, checked on an interval (not per probe, so a burst of
 * probes never reaches the app); {@code /readyz} reports the last answer.
 */
final class AppReadiness implements Readiness, AutoCloseable {
  private final URI uri;
  private final Duration interval;
  private final HttpClient client;
  private final ScheduledExecutorService scheduler;
  private volatile Optional<String> notReady;

  AppReadiness(URI target, String path, Duration interval) {
    this.uri = target.resolve(path);
    this.interval = interval;
    this.notReady = Optional.of("app not checked yet at " + path);
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout()).build();
    this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "metrics-proxy-readiness");
      t.setDaemon(true);
      return t;
    });
  }

  void start() {
    scheduler.scheduleWithFixedDelay(this::check, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private Duration timeout() {
    return interval.compareTo(Duration.ofSeconds(2)) < 0 ? interval : Duration.ofSeconds(2);
  }

  private void check() {
    try {
      HttpResponse<Void> response = client.send(
          HttpRequest.newBuilder(uri).timeout(timeout()).header("User-Agent", "metrics-proxy-readiness").GET().build(),
          HttpResponse.BodyHandlers.discarding());
      int status = response.statusCode();
      notReady = status / 100 == 2 ? Optional.empty() : Optional.of("app answered " + uri.getPath() + " with " + status);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      notReady = Optional.of("app did not answer " + uri.getPath() + ": " + e.getClass().getSimpleName());
    }
  }

  @Override
  public Optional<String> notReadyReason() {
    return notReady;
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
