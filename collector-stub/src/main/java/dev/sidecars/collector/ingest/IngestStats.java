package dev.sidecars.collector.ingest;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counts since start, as {@code /api/stats} shows them. */
public final class IngestStats {
  final LongAdder spans = new LongAdder();
  final LongAdder logs = new LongAdder();
  final LongAdder metricPoints = new LongAdder();
  final LongAdder requests = new LongAdder();
  final LongAdder rejected = new LongAdder();
  final LongAdder rejectedItems = new LongAdder();

  /** A request refused before it reached the store (malformed, too large, wrong media type). */
  public void refusedEarly() {
    requests.increment();
    rejected.increment();
  }

  public long spans() {
    return spans.sum();
  }

  public long logs() {
    return logs.sum();
  }

  public long metricPoints() {
    return metricPoints.sum();
  }

  public long requests() {
    return requests.sum();
  }

  public long rejected() {
    return rejected.sum();
  }

  public long rejectedItems() {
    return rejectedItems.sum();
  }

  public Map<String, Object> snapshot() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("spans", spans());
    m.put("logs", logs());
    m.put("metricPoints", metricPoints());
    m.put("requests", requests());
    m.put("rejected", rejected());
    m.put("rejectedItems", rejectedItems());
    return m;
  }
}
