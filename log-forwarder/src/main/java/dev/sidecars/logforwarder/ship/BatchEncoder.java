package dev.sidecars.logforwarder.ship;

import dev.sidecars.logforwarder.parse.LogEntry;
import dev.sidecars.logforwarder.parse.WireRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.function.Function;

/**
 * The thread that turns batches' entries into OTLP records and encodes them into their export requests,
 * chunk by chunk, in the order the chunks were handed over. Reading and splitting lines stay on the
 * reading thread and parsing and encoding move here, so the two halves of the work use two cores.
 *
 * <p>At most {@value #AHEAD} chunks wait here: handing over one more waits until the oldest is encoded.
 * Unencoded entries cost several objects per line, where encoded ones cost their wire size; a reading
 * thread free to run ahead would fill the queue with them, and the heap with objects that survive young
 * collections (measured: a third of the CPU went to full collections).
 */
public final class BatchEncoder implements AutoCloseable {
  static final int AHEAD = 2;

  private final Semaphore ahead = new Semaphore(AHEAD);
  private final Function<LogEntry, WireRecord> records;
  private final ExportRequests requests;
  private final RequestBuffers buffers;
  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "log-forwarder-encoder");
    t.setDaemon(true);
    return t;
  });

  public BatchEncoder(Function<LogEntry, WireRecord> records, ExportRequests requests, RequestBuffers buffers) {
    this.records = records;
    this.requests = requests;
    this.buffers = buffers;
  }

  /**
   * Runs {@code task} on the encoding thread after every task handed over before it; waits first while
   * {@value #AHEAD} tasks are waiting or running.
   */
  <T> Future<T> submit(Callable<T> task) throws InterruptedException {
    ahead.acquire();
    try {
      return thread.submit(() -> {
        try {
          return task.call();
        } finally {
          ahead.release();
        }
      });
    } catch (RejectedExecutionException e) {
      ahead.release();
      throw e;
    }
  }

  /** On the encoding thread: appends the records of {@code entries} to {@code encoded} (null: none yet). */
  ExportRequests.Encoded append(ExportRequests.Encoded encoded, List<LogEntry> entries) {
    List<WireRecord> chunk = new ArrayList<>(entries.size());
    for (LogEntry entry : entries) {
      chunk.add(records.apply(entry));
    }
    return requests.append(encoded, chunk, buffers);
  }

  /** Gives an encoded request's array back once the collector answered it. */
  void release(byte[] request) {
    buffers.give(request);
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
