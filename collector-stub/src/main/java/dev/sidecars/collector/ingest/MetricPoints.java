package dev.sidecars.collector.ingest;

import io.opentelemetry.proto.metrics.v1.Metric;
import java.util.ArrayList;
import java.util.List;

/** Splits a metric into one {@code Metric} per data point, keeping its name, unit and aggregation. */
final class MetricPoints {
  private MetricPoints() {}

  static int count(Metric m) {
    return switch (m.getDataCase()) {
      case GAUGE -> m.getGauge().getDataPointsCount();
      case SUM -> m.getSum().getDataPointsCount();
      case HISTOGRAM -> m.getHistogram().getDataPointsCount();
      case EXPONENTIAL_HISTOGRAM -> m.getExponentialHistogram().getDataPointsCount();
      case SUMMARY -> m.getSummary().getDataPointsCount();
      default -> 0;
    };
  }

  static List<Metric> split(Metric m) {
    int n = count(m);
    List<Metric> out = new ArrayList<>(n);
    Metric.Builder template = m.toBuilder().clearData();
    for (int i = 0; i < n; i++) {
      Metric.Builder one = template.clone();
      switch (m.getDataCase()) {
        case GAUGE -> one.setGauge(m.getGauge().toBuilder().clearDataPoints().addDataPoints(m.getGauge().getDataPoints(i)));
        case SUM -> one.setSum(m.getSum().toBuilder().clearDataPoints().addDataPoints(m.getSum().getDataPoints(i)));
        case HISTOGRAM -> one.setHistogram(
            m.getHistogram().toBuilder().clearDataPoints().addDataPoints(m.getHistogram().getDataPoints(i)));
        case EXPONENTIAL_HISTOGRAM -> one.setExponentialHistogram(
            m.getExponentialHistogram().toBuilder().clearDataPoints()
                .addDataPoints(m.getExponentialHistogram().getDataPoints(i)));
        case SUMMARY -> one.setSummary(
            m.getSummary().toBuilder().clearDataPoints().addDataPoints(m.getSummary().getDataPoints(i)));
        default -> {
          // no points
        }
      }
      out.add(one.build());
    }
    return out;
  }
}
