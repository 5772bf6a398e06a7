package dev.sidecars.logforwarder;

import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.Set;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;
import java.util.concurrent.atomic.AtomicInteger;

/** The log-forwarder's own counters and gauges, shown on {@code /metrics} and pushed over OTLP. */
public final class LogForwarderMetrics {
  final AtomicInteger filesWatched = new AtomicInteger();
  final AtomicInteger filesOpen = new AtomicInteger();
  public final Counter linesRead;
  public final Counter bytesRead;
  public final Counter recordsSent;
  public final Counter recordsRejected;
  public final Counter sendsRetried;
  public final Counter sendsRejected;
  public final Counter linesTruncated;
  public final Counter truncationsUnrecovered;
  /** Bytes never read because the handle of a deleted file was needed ({@code LOG_MAX_OPEN_FILES}). */
  public final Counter bytesAbandoned;
  /** Bytes past the saved position of a file that was gone when the forwarder started again. */
  public final Counter bytesLostWhileStopped;
  private volatile LongSupplier heldDeleted = () -> 0;
  private volatile IntSupplier unreadable = () -> 0;
  private final MultiGauge lag;
  private volatile Map<String, ToDoubleFunction<String>> lagFunctions = Map.of();
  private volatile Set<String> lagPaths = Set.of();

  public LogForwarderMetrics(MeterRegistry registry, CheckpointStore checkpoints) {
    Gauge.builder("log.forwarder.files.watched", filesWatched, AtomicInteger::get)
        .description("Files followed now (matched by LOG_PATHS, or rotated away and still being read)")
        .register(registry);
    Gauge.builder("log.forwarder.files.open", filesOpen, AtomicInteger::get)
        .description("File handles held now (at most LOG_MAX_OPEN_FILES)")
        .register(registry);
    linesRead = Counter.builder("log.forwarder.lines.read").description("Lines read from files").register(registry);
    bytesRead = Counter.builder("log.forwarder.read").baseUnit("bytes").description("Bytes read from files").register(registry);
    recordsSent = Counter.builder("log.forwarder.records.sent").description("Log records the collector accepted").register(registry);
    recordsRejected = Counter.builder("log.forwarder.records.rejected")
        .description("Log records the collector refused (HTTP 400/422, too large alone, or rejected in a partial success), not sent again")
        .register(registry);
    sendsRetried = Counter.builder("log.forwarder.sends.failed").tag("outcome", "retried")
        .description("Exports that failed: retried (429, 5xx, timeouts, no connection) or rejected (400) and skipped")
        .register(registry);
    sendsRejected = Counter.builder("log.forwarder.sends.failed").tag("outcome", "rejected")
        .description("Exports that failed: retried (429, 5xx, timeouts, no connection) or rejected (400) and skipped")
        .register(registry);
    linesTruncated = Counter.builder("log.forwarder.lines.truncated")
        .description("Entries longer than LOG_MAX_LINE_BYTES, cut and marked").register(registry);
    truncationsUnrecovered = Counter.builder("log.forwarder.truncations.unrecovered")
        .description("Copy-truncate rotations whose unread part could not be found in a copy")
        .register(registry);
    bytesAbandoned = Counter.builder("log.forwarder.unshipped.bytes.abandoned").tag("reason", "max_open_files")
        .description("Bytes never read: deleted files given up because LOG_MAX_OPEN_FILES handles were needed for"
            + " new files (max_open_files), or files gone while the forwarder was stopped (stopped)")
        .register(registry);
    bytesLostWhileStopped = Counter.builder("log.forwarder.unshipped.bytes.abandoned").tag("reason", "stopped")
        .description("Bytes never read: deleted files given up because LOG_MAX_OPEN_FILES handles were needed for"
            + " new files (max_open_files), or files gone while the forwarder was stopped (stopped)")
        .register(registry);
    Gauge.builder("log.forwarder.held.deleted", this, m -> m.heldDeleted.getAsLong()).baseUnit("bytes")
        .description("Disk held by deleted files kept open until the collector accepted everything in them")
        .register(registry);
    Gauge.builder("log.forwarder.files.unreadable", this, m -> m.unreadable.getAsInt())
        .description("Files LOG_PATHS matches that cannot be opened (permission denied)")
        .register(registry);
    Gauge.builder("log.forwarder.checkpoint.age", checkpoints, CheckpointStore::ageSeconds)
        .baseUnit("seconds").description("Time since read positions were last written, while some file has bytes not yet committed (0 when all are current)").register(registry);
    lag = MultiGauge.builder("log.forwarder.lag").baseUnit("bytes")
        .description("Bytes written to a file but not yet accepted by the collector").register(registry);
  }

  /**
   * Sets the per-file lag rows for the files followed now: {@code lagByPath} maps each path to a function
   * evaluated at scrape time, so the lag keeps growing while reading is paused. Rows are registered again
   * only when the set of paths changes: replacing them at every scan, through the composite registry,
   * could leave a scrape seeing an old and a new row of one path at once (and failing on it).
   */
  public void updateLag(Map<String, ToDoubleFunction<String>> lagByPath) {
    Map<String, ToDoubleFunction<String>> previous = lagFunctions;
    lagFunctions = Map.copyOf(lagByPath);
    if (previous.keySet().equals(lagByPath.keySet())) {
      return;
    }
    // The rows' gauges hold their path weakly; this set keeps those very strings alive.
    lagPaths = Set.copyOf(lagByPath.keySet());
    lag.register(
        lagPaths.stream()
            .map(path -> MultiGauge.Row.of(Tags.of("path", path), path, this::lagOf))
            .toList(),
        true);
  }

  private double lagOf(String path) {
    ToDoubleFunction<String> f = lagFunctions.get(path);
    return f == null ? 0 : f.applyAsDouble(path);
  }

  /** Where the held-deleted gauge reads its value from. */
  public void heldDeletedBytes(LongSupplier bytes) {
    heldDeleted = bytes;
  }

  /** Where the unreadable-files gauge reads its value from. */
  public void unreadableFiles(IntSupplier files) {
    unreadable = files;
  }

  public void filesWatched(int n) {
    filesWatched.set(n);
  }

  public void filesOpen(int n) {
    filesOpen.set(n);
  }
}
