package dev.sidecars.runtime.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The RED metrics of one side of an HTTP proxy, recorded through Micrometer with the OpenTelemetry HTTP
 * semantic-convention names, labels and bucket boundaries:
 *
 * <ul>
 *   <li>{@code http.<side>.request.duration} (seconds, histogram) labelled {@code http.request.method},
 *       {@code http.response.status_code} and {@code http.route} (server) or {@code server.address} (client);
 *   <li>{@code http.<side>.request.body.size} and {@code http.<side>.response.body.size} (bytes, histograms),
 *       same labels;
 *   <li>{@code http.<side>.active_requests} (gauge);
 *   <li>{@code http.<side>.series.overflow} (counter): recordings folded into the overflow series.
 * </ul>
 *
 * <p>Cardinality is bounded twice: methods outside the standard set become {@code _OTHER} ({@link
 * HttpMethods}), and at most {@code seriesLimit} label combinations exist per metric; later combinations
 * are recorded in one series whose labels are all {@link #OVERFLOW}, and counted. In Prometheus the names
 * become {@code http_server_request_duration_seconds}, {@code http_server_active_requests}, and so on.
 */
public final class HttpMetrics {
  /** Which side of the proxy: the names and the third label follow from it. */
  public enum Side {
    /** Ingress: the proxy serves the request; labelled by route. */
    SERVER("http.server", "http.route"),
    /** Egress: the proxy calls another service; labelled by that service's address. */
    CLIENT("http.client", "server.address");

    private final String prefix;
    private final String targetLabel;

    Side(String prefix, String targetLabel) {
      this.prefix = prefix;
      this.targetLabel = targetLabel;
    }

    public String prefix() {
      return prefix;
    }

    /** {@code http.route} or {@code server.address}. */
    public String targetLabel() {
      return targetLabel;
    }
  }

  /** The label value of every label of the overflow series. */
  public static final String OVERFLOW = "_OVERFLOW";

  /** The default series limit per metric, as the OpenTelemetry SDK's cardinality limit. */
  public static final int DEFAULT_SERIES_LIMIT = 2000;

  /** The semantic conventions' advisory boundaries for request durations, in seconds. */
  public static final List<Double> DURATION_BUCKETS =
      List.of(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0);

  /** Body size boundaries in bytes: powers of 4 from 64 B to 64 MiB, a range apps commonly span. */
  public static final List<Double> SIZE_BUCKETS = sizeBuckets();

  private record Key(String method, int status, String target) {}

  private record Series(Timer duration, DistributionSummary requestSize, DistributionSummary responseSize) {}

  private final MeterRegistry registry;
  private final Side side;
  private final SeriesLimit<Key, Series> series;
  private final AtomicLong active = new AtomicLong();

  /**
   * Registers the gauge and overflow counter now; series are registered on first use.
   *
   * @param seriesLimit label combinations per metric before folding into the overflow series (at least 1)
   */
  public HttpMetrics(MeterRegistry registry, Side side, int seriesLimit) {
    this.registry = registry;
    this.side = side;
    Gauge.builder(side.prefix + ".active_requests", active, AtomicLong::get)
        .description("Requests in flight through the proxy")
        .baseUnit("requests")
        .register(registry);
    Counter overflowCount =
        Counter.builder(side.prefix + ".series.overflow")
            .description("Recordings folded into the overflow series because the series limit was reached")
            .register(registry);
    Series overflow = register(new Key(OVERFLOW, -1, OVERFLOW)); // shown from the start, at zero
    this.series = new SeriesLimit<>(seriesLimit, this::register, () -> overflow, overflowCount);
  }

  public Side side() {
    return side;
  }

  /** Counts a request as in flight; pair with {@link #finished()}. */
  public void started() {
    active.incrementAndGet();
  }

  public void finished() {
    active.decrementAndGet();
  }

  /**
   * Records one finished exchange. Call it with the exchange's trace context current, so histogram
   * buckets get the trace id as exemplar.
   *
   * @param method the request method as received (normalised here)
   * @param target the route (server) or upstream address (client); already bounded by the caller
   * @param requestBytes request body bytes, or a negative number when unknown (not recorded)
   */
  public void record(String method, int status, String target, long durationNanos, long requestBytes, long responseBytes) {
    Series s = series.get(new Key(HttpMethods.normalize(method), status, target));
    s.duration.record(durationNanos, TimeUnit.NANOSECONDS);
    if (requestBytes >= 0) {
      s.requestSize.record(requestBytes);
    }
    if (responseBytes >= 0) {
      s.responseSize.record(responseBytes);
    }
  }

  /** The number of label combinations in use, the overflow series not counted. */
  public int seriesCount() {
    return series.size();
  }

  private Series register(Key key) {
    Tags tags =
        Tags.of(
            "http.request.method", key.method,
            "http.response.status_code", key.status < 0 ? OVERFLOW : Integer.toString(key.status),
            side.targetLabel, key.target);
    Timer duration =
        Timer.builder(side.prefix + ".request.duration")
            .description("Duration of HTTP " + side.name().toLowerCase() + " requests")
            .tags(tags)
            .serviceLevelObjectives(DURATION_BUCKETS.stream().map(HttpMetrics::seconds).toArray(Duration[]::new))
            .register(registry);
    return new Series(duration, size("request", tags), size("response", tags));
  }

  private DistributionSummary size(String what, Tags tags) {
    return DistributionSummary.builder(side.prefix + "." + what + ".body.size")
        .description("Size of HTTP " + what + " bodies")
        .baseUnit("bytes")
        .tags(tags)
        .serviceLevelObjectives(SIZE_BUCKETS.stream().mapToDouble(Double::doubleValue).toArray())
        .register(registry);
  }

  private static Duration seconds(double s) {
    return Duration.ofNanos(Math.round(s * 1e9));
  }

  private static List<Double> sizeBuckets() {
    List<Double> buckets = new java.util.ArrayList<>();
    for (double b = 64; b <= 64 * 1024 * 1024; b *= 4) {
      buckets.add(b);
    }
    return List.copyOf(buckets);
  }
}
