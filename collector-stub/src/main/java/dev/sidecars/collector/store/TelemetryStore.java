package dev.sidecars.collector.store;

import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.metrics.v1.Metric;
import java.util.Set;
import java.util.TreeSet;

/** The three bounded stores, one per signal, and the resources and scopes they share. */
public final class TelemetryStore {
  private final SpanStore spans;
  private final ItemStore<LogRecord> logs;
  private final ItemStore<Metric> metricPoints;
  private final Resources resources = new Resources();

  public TelemetryStore(int maxSpans, int maxLogs, int maxPoints) {
    this.spans = new SpanStore(maxSpans);
    this.logs = new ItemStore<>(maxLogs, LogRecord.parser());
    this.metricPoints = new ItemStore<>(maxPoints, Metric.parser());
  }

  public SpanStore spans() {
    return spans;
  }

  /** Log records filed under their trace id in hex ("" when they have none). */
  public ItemStore<LogRecord> logs() {
    return logs;
  }

  /** Metric points, each as a {@code Metric} holding that one point, filed under the metric name. */
  public ItemStore<Metric> metricPoints() {
    return metricPoints;
  }

  public Resources resources() {
    return resources;
  }

  /** Every service that has anything stored, sorted. */
  public Set<String> services() {
    Set<String> all = new TreeSet<>(spans.services());
    all.addAll(logs.services());
    all.addAll(metricPoints.services());
    return all;
  }

  public void clear() {
    spans.clear();
    logs.clear();
    metricPoints.clear();
  }
}
