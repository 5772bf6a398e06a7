package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Records exported together, and for each file the offset that becomes committed once they are accepted. */
public final class LogBatch {
  private final List<LogRecordData> records;
  private final Map<FileIdentity, Long> ends = new LinkedHashMap<>();
  private final long createdNanos;
  private long bytes;

  public LogBatch(long createdNanos, int expectedRecords) {
    this.createdNanos = createdNanos;
    this.records = new ArrayList<>(expectedRecords);
  }

  public void add(LogRecordData record, FileIdentity identity, long endOffset, int lineBytes) {
    records.add(record);
    ends.merge(identity, endOffset, Math::max);
    bytes += lineBytes;
  }

  /** Advances a file's position without a record (bytes skipped, such as the rest of a cut line). */
  public void advance(FileIdentity identity, long endOffset) {
    ends.merge(identity, endOffset, Math::max);
  }

  public List<LogRecordData> records() {
    return records;
  }

  public Map<FileIdentity, Long> ends() {
    return ends;
  }

  public long bytes() {
    return bytes;
  }

  public long createdNanos() {
    return createdNanos;
  }

  public boolean isEmpty() {
    return records.isEmpty() && ends.isEmpty();
  }
}
