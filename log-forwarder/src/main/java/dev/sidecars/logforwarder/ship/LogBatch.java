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
  /** Records per encoded part of a request (see the four-argument constructor). */
  static final int CHUNK_RECORDS = 512;

  private List<LogRecord> records;
  private final ExportRequests requests;
  private final RequestBuffers buffers;
  private ExportRequests.Encoded encoded;
  private final Map<FileIdentity, Long> ends = new LinkedHashMap<>();
  private final long createdNanos;
  private long bytes;
  private int count;
  private ExportRequests.Encoded request;
  // The file of the last record and its end: most lines of a batch come from one file, so the map is
  // touched when the file changes, not once per line.
  private FileIdentity lastFile;
  private long lastEnd;

  /**
   * A batch that encodes its records {@value #CHUNK_RECORDS} at a time into an array from {@code buffers}
   * while it fills, so that only that many record objects are alive at once: a whole batch of them
   * outlives several young collections, overflows the survivor space and is promoted as garbage.
   */
  public LogBatch(long createdNanos, int expectedRecords, ExportRequests requests, RequestBuffers buffers) {
    this.createdNanos = createdNanos;
    this.requests = requests;
    this.buffers = buffers;
    this.records = new ArrayList<>(Math.min(expectedRecords, CHUNK_RECORDS));
  }

  private void encodeChunk() {
    if (records.isEmpty()) {
      return;
    }
    encoded = requests.append(encoded, records, buffers);
    records.clear();
  }

  public void add(LogRecord record, FileIdentity identity, long endOffset, int lineBytes) {
    records.add(record);
    count++;
    if (records.size() >= CHUNK_RECORDS) {
      encodeChunk();
    }
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
  public void seal() {
    if (records != null) {
      request = count == 0 ? new ExportRequests.Encoded(new byte[0], 0) : requests.append(encoded, records, buffers);
      records = null;
      encoded = null;
    }
    settleLast();
  }

  /** The encoded export request. */
  public ExportRequests.Encoded request() {
    seal();
    return request;
  }

  /** Gives the request's array back once the collector answered (accepted or skipped). */
  public void release() {
    if (request != null && request.length() > 0) {
      buffers.give(request.bytes());
    }
    request = null;
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
