package dev.sidecars.collector.ingest;

import dev.sidecars.collector.Signal;
import dev.sidecars.collector.faults.Fault;
import dev.sidecars.collector.faults.FaultPlan;
import dev.sidecars.collector.store.EncodedSpan;
import dev.sidecars.collector.store.Resources;
import dev.sidecars.collector.store.TelemetryStore;
import dev.sidecars.collector.store.TraceId;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.resource.v1.Resource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * Takes decoded OTLP exports from either transport, answers scripted faults, stores the rest and counts
 * everything. HTTP and gRPC differ only in how they speak the {@link Outcome}.
 */
public final class Ingest {
  private final TelemetryStore store;
  private final FaultPlan faults;
  private final IngestStats stats;

  public Ingest(TelemetryStore store, FaultPlan faults, IngestStats stats) {
    this.store = store;
    this.faults = faults;
    this.stats = stats;
  }

  public IngestStats stats() {
    return stats;
  }

  /** Spans that arrived decoded (gRPC, JSON); refused as malformed when their ids have the wrong length. */
  public Outcome traces(ExportTraceServiceRequest request) throws MalformedRequestException {
    return traces(SpanBatch.of(request));
  }

  /** Spans whose encodings came with them (see {@link SpanFrames}), so none is encoded again to be stored. */
  Outcome traces(List<SpanBatch> batches) {
    stats.requests.increment();
    Optional<Fault> fault = faults.take(Signal.TRACES);
    if (fault.isPresent() && !fault.get().isPartialSuccess()) {
      return refuse(fault.get());
    }
    int total = 0;
    for (SpanBatch batch : batches) {
      total += batch.spans().size();
    }
    int keep = keep(total, fault);
    int kept = 0;
    Resources resources = store.resources();
    for (SpanBatch batch : batches) {
      List<EncodedSpan> spans = batch.spans();
      int take = Math.min(spans.size(), keep - kept);
      if (take > 0) {
        store.spans().add(resources.intern(batch.resource()), resources.intern(batch.scope()), spans.subList(0, take));
        kept += take;
      }
    }
    stats.spans.add(kept);
    return accepted(total - kept);
  }

  public Outcome logs(ExportLogsServiceRequest request) {
    stats.requests.increment();
    Optional<Fault> fault = faults.take(Signal.LOGS);
    if (fault.isPresent() && !fault.get().isPartialSuccess()) {
      return refuse(fault.get());
    }
    int total = 0;
    for (ResourceLogs rl : request.getResourceLogsList()) {
      for (ScopeLogs sl : rl.getScopeLogsList()) {
        total += sl.getLogRecordsCount();
      }
    }
    int keep = keep(total, fault);
    int kept = 0;
    Resources resources = store.resources();
    for (ResourceLogs rl : request.getResourceLogsList()) {
      Resource resource = resources.intern(rl.getResource());
      for (ScopeLogs sl : rl.getScopeLogsList()) {
        List<LogRecord> records = sl.getLogRecordsList();
        int take = Math.min(records.size(), keep - kept);
        if (take > 0) {
          List<LogRecord> stored = records.subList(0, take);
          List<String> traceIds = new ArrayList<>(take);
          for (LogRecord r : stored) {
            traceIds.add(TraceId.hex(r.getTraceId()));
          }
          store.logs().add(resource, resources.intern(sl.getScope()), stored, traceIds);
          kept += take;
        }
      }
    }
    stats.logs.add(kept);
    return accepted(total - kept);
  }

  public Outcome metrics(ExportMetricsServiceRequest request) {
    stats.requests.increment();
    Optional<Fault> fault = faults.take(Signal.METRICS);
    if (fault.isPresent() && !fault.get().isPartialSuccess()) {
      return refuse(fault.get());
    }
    int total = 0;
    for (ResourceMetrics rm : request.getResourceMetricsList()) {
      for (ScopeMetrics sm : rm.getScopeMetricsList()) {
        for (Metric m : sm.getMetricsList()) {
          total += MetricPoints.count(m);
        }
      }
    }
    int keep = keep(total, fault);
    int kept = 0;
    Resources resources = store.resources();
    for (ResourceMetrics rm : request.getResourceMetricsList()) {
      Resource resource = resources.intern(rm.getResource());
      for (ScopeMetrics sm : rm.getScopeMetricsList()) {
        InstrumentationScope scope = resources.intern(sm.getScope());
        for (Metric m : sm.getMetricsList()) {
          List<Metric> points = MetricPoints.split(m);
          int take = Math.min(points.size(), keep - kept);
          if (take > 0) {
            store.metricPoints().add(resource, scope, points.subList(0, take), Collections.nCopies(take, m.getName()));
            kept += take;
          }
        }
      }
    }
    stats.metricPoints.add(kept);
    return accepted(total - kept);
  }

  private static int keep(int total, Optional<Fault> fault) {
    return fault.map(f -> Math.max(0, total - f.rejectPartially())).orElse(total);
  }

  private Outcome accepted(long rejected) {
    if (rejected == 0) {
      return Outcome.Accepted.FULLY;
    }
    stats.rejectedItems.add(rejected);
    return new Outcome.Accepted(rejected, "fault injected: " + rejected + " items rejected");
  }

  private Outcome refuse(Fault fault) {
    stats.rejected.increment();
    return new Outcome.Refused(
        fault.status(), fault.retryAfterSeconds(), "fault injected: status " + fault.status());
  }
}
