package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Records exported together, and for each file the offset that becomes committed once they are accepted.
 * Once sealed, the batch holds its encoded export request only: the record objects are dropped, so a
 * queued batch costs its wire size, not a few objects per line.
 */
public final class LogBatch {
  private List<LogRecord> records;
  private final Map<FileIdentity, Long> ends = new LinkedHashMap<>();
  private final long createdNanos;
  private long bytes;
  private int count;
  private byte[] request;
  // The file of the last record and its end: most lines of a batch come from one file, so the map is
  // touched when the file changes, not once per line.
  private FileIdentity lastFile;
  private long lastEnd;

  public LogBatch(long createdNanos, int expectedRecords) {
    this.createdNanos = createdNanos;
    this.records = new ArrayList<>(expectedRecords);
  }

  public void add(LogRecord record, FileIdentity identity, long endOffset, int lineBytes) {
    records.add(record);
    count++;
    advance(identity, endOffset);
    bytes += lineBytes;
  }

  /** Advances a file's position without a record (bytes skipped, such as the rest of a cut line). */
  public void advance(FileIdentity identity, long endOffset) {
    if (identity == lastFile) {
      lastEnd = Math.max(lastEnd, endOffset);
      return;
    }
    settleLast();
    lastFile = identity;
    lastEnd = endOffset;
  }

  private void settleLast() {
    if (lastFile != null) {
      ends.merge(lastFile, lastEnd, Math::max);
      lastFile = null;
    }
  }

  /** Encodes the request now (on the reading thread, while the previous batch is in flight). */
  public void seal(ExportRequests requests) {
    if (records != null) {
      request = count == 0 ? new byte[0] : requests.encode(records);
      records = null;
    }
    settleLast();
  }

  /** The encoded export request. */
  public byte[] request(ExportRequests requests) {
    seal(requests);
    return request;
  }

  public int count() {
    return count;
  }

  public Map<FileIdentity, Long> ends() {
    settleLast();
    return ends;
  }

  public long bytes() {
    return bytes;
  }

  public long createdNanos() {
    return createdNanos;
  }

  public boolean isEmpty() {
    return count == 0 && ends.isEmpty() && lastFile == null;
  }
}
