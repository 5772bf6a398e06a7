package dev.sidecars.collector.query;

import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.SummaryDataPoint;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stored metric points grouped back into metrics for the query API: one entry per process (resource) and
 * metric name, with the resource's attributes, its points oldest first. Each process is kept apart: three
 * sidecars of one service export same-named counters, and merged they would read as one zig-zag series.
 * Histogram buckets are given per bucket (not cumulative), each with its upper bound {@code le}, the last
 * one {@code "+Inf"}.
 */
final class MetricPointsJson {
  private MetricPointsJson() {}

  /** All of {@code points}, grouped. */
  static List<Map<String, Object>> toJson(List<Received<Metric>> points) {
    return toJson(points, Integer.MAX_VALUE);
  }

  /** {@code points} grouped, keeping the newest {@code perSeries} points of each series (attribute set). */
  static List<Map<String, Object>> toJson(List<Received<Metric>> points, int perSeries) {
    Map<Resource, String> resourceKeys = new IdentityHashMap<>();
    Map<String, Map<String, Object>> metrics = new LinkedHashMap<>();
    for (Received<Metric> r : points) {
      Metric m = r.item();
      String resource = resourceKeys.computeIfAbsent(r.resource(), res -> Json.write(AnyValues.toJson(
          res.getAttributesList().stream().sorted(Comparator.comparing(KeyValue::getKey)).toList())));
      String key = resource + "\u0000" + m.getName();
      Map<String, Object> metric = metrics.computeIfAbsent(key, k -> header(r));
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> list = (List<Map<String, Object>>) metric.get("points");
      list.add(point(m));
    }
    if (perSeries < Integer.MAX_VALUE) {
      for (Map<String, Object> metric : metrics.values()) {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> list = (List<Map<String, Object>>) metric.get("points");
        metric.put("points", newestOfEachSeries(list, perSeries));
      }
    }
    return new ArrayList<>(metrics.values());
  }

  private static List<Map<String, Object>> newestOfEachSeries(List<Map<String, Object>> points, int perSeries) {
    Map<Object, Integer> kept = new HashMap<>();
    List<Map<String, Object>> newestFirst = new ArrayList<>();
    for (int i = points.size() - 1; i >= 0; i--) {
      Map<String, Object> point = points.get(i);
      if (kept.merge(point.get("attributes"), 1, Integer::sum) <= perSeries) {
        newestFirst.add(point);
      }
    }
    Collections.reverse(newestFirst);
    return newestFirst;
  }

  private static Map<String, Object> header(Received<Metric> r) {
    Metric m = r.item();
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("name", m.getName());
    j.put("service", r.service());
    j.put("resource", AnyValues.toJson(r.resource().getAttributesList()));
    j.put("type", type(m));
    j.put("unit", m.getUnit());
    j.put("description", m.getDescription());
    j.put("scope", r.scope().getName());
    switch (m.getDataCase()) {
      case SUM -> {
        j.put("monotonic", m.getSum().getIsMonotonic());
        j.put("temporality", temporality(m.getSum().getAggregationTemporalityValue()));
      }
      case HISTOGRAM -> j.put("temporality", temporality(m.getHistogram().getAggregationTemporalityValue()));
      case EXPONENTIAL_HISTOGRAM ->
          j.put("temporality", temporality(m.getExponentialHistogram().getAggregationTemporalityValue()));
      default -> {
        // gauges and summaries have no temporality
      }
    }
    j.put("points", new ArrayList<Map<String, Object>>());
    return j;
  }

  private static String type(Metric m) {
    return switch (m.getDataCase()) {
      case GAUGE -> "gauge";
      case SUM -> "sum";
      case HISTOGRAM -> "histogram";
      case EXPONENTIAL_HISTOGRAM -> "exponentialHistogram";
      case SUMMARY -> "summary";
      default -> "unknown";
    };
  }

  private static String temporality(int value) {
    return switch (value) {
      case 1 -> "delta";
      case 2 -> "cumulative";
      default -> "unspecified";
    };
  }

  private static Map<String, Object> point(Metric m) {
    return switch (m.getDataCase()) {
      case GAUGE -> number(m.getGauge().getDataPoints(0));
      case SUM -> number(m.getSum().getDataPoints(0));
      case HISTOGRAM -> histogram(m.getHistogram().getDataPoints(0));
      case EXPONENTIAL_HISTOGRAM -> exponential(m.getExponentialHistogram().getDataPoints(0));
      case SUMMARY -> summary(m.getSummary().getDataPoints(0));
      default -> Map.of();
    };
  }

  private static Map<String, Object> common(List<io.opentelemetry.proto.common.v1.KeyValue> attributes,
      long start, long time) {
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("attributes", AnyValues.toJson(attributes));
    j.put("startTimeUnixNano", start);
    j.put("timeUnixNano", time);
    return j;
  }

  private static Map<String, Object> number(NumberDataPoint p) {
    Map<String, Object> j = common(p.getAttributesList(), p.getStartTimeUnixNano(), p.getTimeUnixNano());
    j.put("value", p.getValueCase() == NumberDataPoint.ValueCase.AS_INT ? (Object) p.getAsInt() : (Object) p.getAsDouble());
    j.put("exemplars", exemplars(p.getExemplarsList()));
    return j;
  }

  private static Map<String, Object> histogram(HistogramDataPoint p) {
    Map<String, Object> j = common(p.getAttributesList(), p.getStartTimeUnixNano(), p.getTimeUnixNano());
    j.put("count", p.getCount());
    j.put("sum", p.hasSum() ? p.getSum() : null);
    if (p.hasMin()) {
      j.put("min", p.getMin());
    }
    if (p.hasMax()) {
      j.put("max", p.getMax());
    }
    List<Map<String, Object>> buckets = new ArrayList<>();
    for (int i = 0; i < p.getBucketCountsCount(); i++) {
      Object le = i < p.getExplicitBoundsCount() ? (Object) p.getExplicitBounds(i) : "+Inf";
      buckets.add(bucket(le, p.getBucketCounts(i)));
    }
    j.put("buckets", buckets);
    j.put("exemplars", exemplars(p.getExemplarsList()));
    return j;
  }

  /** Positive buckets only get bounds; zero and negative counts are given beside them. */
  private static Map<String, Object> exponential(ExponentialHistogramDataPoint p) {
    Map<String, Object> j = common(p.getAttributesList(), p.getStartTimeUnixNano(), p.getTimeUnixNano());
    j.put("count", p.getCount());
    j.put("sum", p.hasSum() ? p.getSum() : null);
    j.put("scale", p.getScale());
    j.put("zeroCount", p.getZeroCount());
    double base = Math.pow(2, Math.pow(2, -p.getScale()));
    List<Map<String, Object>> buckets = new ArrayList<>();
    ExponentialHistogramDataPoint.Buckets positive = p.getPositive();
    for (int i = 0; i < positive.getBucketCountsCount(); i++) {
      buckets.add(bucket(Math.pow(base, positive.getOffset() + i + 1), positive.getBucketCounts(i)));
    }
    j.put("buckets", buckets);
    long negative = 0;
    for (long c : p.getNegative().getBucketCountsList()) {
      negative += c;
    }
    j.put("negativeCount", negative);
    j.put("exemplars", exemplars(p.getExemplarsList()));
    return j;
  }

  private static Map<String, Object> summary(SummaryDataPoint p) {
    Map<String, Object> j = common(p.getAttributesList(), p.getStartTimeUnixNano(), p.getTimeUnixNano());
    j.put("count", p.getCount());
    j.put("sum", p.getSum());
    List<Map<String, Object>> quantiles = new ArrayList<>();
    for (SummaryDataPoint.ValueAtQuantile q : p.getQuantileValuesList()) {
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("quantile", q.getQuantile());
      v.put("value", q.getValue());
      quantiles.add(v);
    }
    j.put("quantiles", quantiles);
    return j;
  }

  private static Map<String, Object> bucket(Object le, long count) {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("le", le);
    b.put("count", count);
    return b;
  }

  private static List<Map<String, Object>> exemplars(List<Exemplar> exemplars) {
    List<Map<String, Object>> out = new ArrayList<>(exemplars.size());
    for (Exemplar e : exemplars) {
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("timeUnixNano", e.getTimeUnixNano());
      j.put("value", e.getValueCase() == Exemplar.ValueCase.AS_INT ? (Object) e.getAsInt() : (Object) e.getAsDouble());
      j.put("traceId", TraceId.hex(e.getTraceId()));
      j.put("spanId", TraceId.hex(e.getSpanId()));
      j.put("filteredAttributes", AnyValues.toJson(e.getFilteredAttributesList()));
      out.add(j);
    }
    return out;
  }
}
