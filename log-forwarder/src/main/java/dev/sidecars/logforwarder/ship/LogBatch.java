package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.parse.LogEntry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Entries exported together, and for each file the offset that becomes committed once they are accepted.
 * The reading thread adds entries; every {@value #CHUNK_RECORDS} of them go to the {@link BatchEncoder}'s
 * thread, which turns them into records and appends them to the batch's encoded request. Once sealed and
 * encoded, the batch holds its encoded export request only, so a queued batch costs its wire size, not a
 * few objects per line.
 */
public final class LogBatch {
  /** Entries per encoded part of a request. */
  static final int CHUNK_RECORDS = 512;
  private static final ExportRequests.Encoded EMPTY = new ExportRequests.Encoded(new byte[0], 0);

  private final BatchEncoder encoder;
  private final Map<FileIdentity, Long> ends = new LinkedHashMap<>();
  private final long createdNanos;
  private List<LogEntry> entries;
  private long bytes;
  private int count;
  // Touched by the encoding thread only, by this batch's tasks, which run one after the other.
  private ExportRequests.Encoded encoded;
  private Future<ExportRequests.Encoded> sealed;
  private ExportRequests.Encoded request;
  // The file of the last entry and its end: most lines of a batch come from one file, so the map is
  // touched when the file changes, not once per line.
  private FileIdentity lastFile;
  private long lastEnd;

  /**
   * A batch whose entries are encoded {@value #CHUNK_RECORDS} at a time while it fills, so that only that
   * many record objects are alive at once: a whole batch of them would outlive several young collections,
   * overflow the survivor space and be promoted as garbage.
   */
  public LogBatch(long createdNanos, int expectedRecords, BatchEncoder encoder) {
    this.createdNanos = createdNanos;
    this.encoder = encoder;
    this.entries = new ArrayList<>(Math.min(expectedRecords, CHUNK_RECORDS));
  }

  public void add(LogEntry entry, FileIdentity identity, long endOffset, int lineBytes) throws InterruptedException {
    entries.add(entry);
    count++;
    if (entries.size() >= CHUNK_RECORDS) {
      List<LogEntry> chunk = entries;
      entries = new ArrayList<>(CHUNK_RECORDS);
      encoder.submit(() -> encoded = encoder.append(encoded, chunk));
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

  /** Hands the last entries to the encoding thread; no entry is added after this. */
  public void seal() throws InterruptedException {
    if (entries != null) {
      List<LogEntry> last = entries;
      entries = null;
      sealed = count == 0 ? null : encoder.submit(() -> {
        ExportRequests.Encoded whole = encoder.append(encoded, last);
        encoded = null;
        return whole;
      });
    }
    settleLast();
  }

  /** The encoded export request, once the encoding thread has finished it. */
  public ExportRequests.Encoded request() throws InterruptedException {
    seal();
    if (request == null) {
      try {
        request = sealed == null ? EMPTY : sealed.get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("encoding a batch failed", e.getCause());
      }
      sealed = null;
    }
    return request;
  }

  /** Gives the request's array back once the collector answered (accepted or skipped). */
  public void release() {
    if (request != null && request.length() > 0) {
      encoder.release(request.bytes());
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
