package dev.sidecars.runtime.rpc;

import dev.sidecars.runtime.http.HttpMetrics;
import dev.sidecars.runtime.http.SeriesLimit;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The per-call metrics of gRPC through one side of a proxy, with the OpenTelemetry RPC conventions' names
 * and labels (v1.37, the ones {@code rpc.grpc.status_code} belongs to):
 *
 * <ul>
 *   <li>{@code rpc.<side>.call.duration} (seconds, histogram; {@code rpc_server_call_duration_seconds} in
 *       Prometheus) labelled {@code rpc.system} ({@code grpc}), {@code rpc.service}, {@code rpc.method} and
 *       {@code rpc.grpc.status_code};
 *   <li>{@code rpc.<side>.requests_per_rpc} and {@code rpc.<side>.responses_per_rpc} (messages, histogram):
 *       how many messages the caller sent and the callee answered in each call, with the same labels;
 *   <li>{@code rpc.<side>.series.overflow} (counter): calls folded into the overflow series.
 * </ul>
 *
 * <p>Cardinality is bounded as {@link HttpMetrics} bounds it: the caller folds services and methods it does
 * not know into {@link GrpcCall#UNKNOWN}, and beyond {@code seriesLimit} label combinations calls are
 * recorded in one series whose labels are all {@link HttpMetrics#OVERFLOW}, and counted.
 */
public final class RpcMetrics {
  /** Which side of the proxy. */
  public enum Side {
    SERVER("rpc.server"),
    CLIENT("rpc.client");

    private final String prefix;

    Side(String prefix) {
      this.prefix = prefix;
    }
  }

  /** The semantic conventions' advice for the messages-per-call histograms. */
  private static final double[] MESSAGE_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};

  private record Key(String service, String method, int code) {}

  private record Series(Timer duration, DistributionSummary requests, DistributionSummary responses) {}

  private final MeterRegistry registry;
  private final Side side;
  private final SeriesLimit<Key, Series> series;

  /** @param seriesLimit label combinations before folding into the overflow series (at least 1) */
  public RpcMetrics(MeterRegistry registry, Side side, int seriesLimit) {
    this.registry = registry;
    this.side = side;
    Counter overflowCount = Counter.builder(side.prefix + ".series.overflow")
        .description("Calls folded into the overflow series because the series limit was reached")
        .register(registry);
    // The overflow series only once a call is folded: a proxy that carries no gRPC shows no empty RPC series.
    this.series = new SeriesLimit<>(seriesLimit, this::register,
        () -> register(new Key(HttpMetrics.OVERFLOW, HttpMetrics.OVERFLOW, -1)), overflowCount);
  }

  public Side side() {
    return side;
  }

  /**
   * Records one finished call, with its trace context current (for exemplars).
   *
   * @param service the service, already folded by the caller when unknown
   * @param code the call's gRPC status code
   */
  public void record(String service, String method, int code, long durationNanos) {
    record(service, method, code, durationNanos, -1, -1);
  }

  /**
   * As {@link #record(String, String, int, long)}, with the messages the caller sent and the callee
   * answered (each -1 when not counted, then not recorded).
   */
  public void record(String service, String method, int code, long durationNanos, long requests, long responses) {
    Series s = series.get(new Key(service, method, code));
    s.duration.record(durationNanos, TimeUnit.NANOSECONDS);
    if (requests >= 0) {
      s.requests.record(requests);
    }
    if (responses >= 0) {
      s.responses.record(responses);
    }
  }

  /** The number of label combinations in use, the overflow series not counted. */
  public int seriesCount() {
    return series.size();
  }

  private Series register(Key key) {
    Tags tags = Tags.of(
        "rpc.system", "grpc",
        "rpc.service", key.service,
        "rpc.method", key.method,
        "rpc.grpc.status_code", key.code < 0 ? HttpMetrics.OVERFLOW : Integer.toString(key.code));
    String sideName = side.name().toLowerCase(Locale.ROOT);
    Timer duration = Timer.builder(side.prefix + ".call.duration")
        .description("Duration of gRPC calls (" + sideName + " side)")
        .tags(tags)
        .serviceLevelObjectives(HttpMetrics.DURATION_BUCKETS.stream()
            .map(s -> Duration.ofNanos(Math.round(s * 1e9))).toArray(Duration[]::new))
        .register(registry);
    return new Series(duration,
        messages(side.prefix + ".requests_per_rpc", "Messages the caller sent per gRPC call (" + sideName + " side)", tags),
        messages(side.prefix + ".responses_per_rpc", "Messages the callee answered per gRPC call (" + sideName + " side)", tags));
  }

  private DistributionSummary messages(String name, String description, Tags tags) {
    return DistributionSummary.builder(name)
        .description(description)
        .tags(tags)
        .serviceLevelObjectives(MESSAGE_BUCKETS)
        .register(registry);
  }
}
