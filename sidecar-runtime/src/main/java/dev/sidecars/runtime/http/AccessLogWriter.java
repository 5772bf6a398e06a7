package dev.sidecars.runtime.http;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedOutputStream;
import java.io.Flushable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Writes access-log lines on a thread of its own, so the proxies' I/O threads never wait on standard
 * output (a write and a lock per request, on the thread that serves every connection it owns). A
 * bounded queue sits between them: when output cannot keep up, lines beyond it are dropped and counted,
 * never buffered without bound. The thread wakes every flush interval and writes what has queued up in
 * one go, so a busy proxy pays one write and no thread hand-off per request; a line is on the output
 * at most about one interval after its request ended. Items are turned into lines on that thread too
 * ({@link Lines}), so the I/O threads only queue them.
 *
 * @param <T> what is queued: an {@link AccessLog.Entry} in the proxies
 */
public final class AccessLogWriter<T> implements Consumer<T>, AutoCloseable {
  /** Lines that may wait for the output before new ones are dropped. */
  public static final int DEFAULT_CAPACITY = 16_384;
  /** How often the queued lines are written out. */
  public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofMillis(100);
  private static final Object END = new Object(); // identity-compared marker, never a real item
  private static final int BATCH = 4096;

  /**
   * Writes items as lines to the output it was made over; made once per writer and used only on the
   * writer's thread, so it may keep state such as one JSON generator for every line.
   */
  public interface Lines<T> extends Flushable {
    /** Writes {@code item} as one line, its newline included. */
    void write(T item) throws IOException;

    /** Writes out what is buffered, down to the underlying output. */
    @Override
    void flush() throws IOException;
  }

  /** Makes the {@link Lines} of a writer over its output. */
  @FunctionalInterface
  public interface LinesFactory<T> {
    Lines<T> over(OutputStream out) throws IOException;
  }

  private final BlockingQueue<Object> queue;
  private final Lines<T> lines;
  private final long flushIntervalNanos;
  private final LongAdder dropped = new LongAdder();
  private final Thread thread;

  public AccessLogWriter(OutputStream out, int capacity, LinesFactory<T> lines) {
    this(out, capacity, DEFAULT_FLUSH_INTERVAL, lines);
  }

  /** @param lines makes the {@link Lines} over the writer's buffered {@code out} */
  public AccessLogWriter(OutputStream out, int capacity, Duration flushInterval, LinesFactory<T> lines) {
    this.queue = new ArrayBlockingQueue<>(capacity);
    try {
      this.lines = lines.over(new BufferedOutputStream(out, 64 * 1024));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.flushIntervalNanos = flushInterval.toNanos();
    this.thread = new Thread(this::run, "access-log");
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * A writer of access-log entries to {@code out}, as JSON lines, whose drops show on {@code meters} as
   * {@code access_log_dropped_lines_total}.
   */
  public static AccessLogWriter<AccessLog.Entry> counted(OutputStream out, MeterRegistry meters) {
    AccessLogWriter<AccessLog.Entry> writer = new AccessLogWriter<>(out, DEFAULT_CAPACITY, AccessLog::jsonLines);
    FunctionCounter.builder("access_log_dropped_lines", writer, AccessLogWriter::dropped)
        .description("Access-log lines dropped because the output could not keep up")
        .register(meters);
    return writer;
  }

  @Override
  public void accept(T item) {
    if (!queue.offer(item)) {
      dropped.increment();
    }
  }

  /** Lines dropped because the queue was full. */
  public long dropped() {
    return dropped.sum();
  }

  private void run() {
    List<Object> batch = new ArrayList<>(BATCH);
    try {
      while (!Thread.currentThread().isInterrupted()) {
        batch.clear();
        queue.drainTo(batch, BATCH);
        for (Object item : batch) {
          if (item == END) {
            lines.flush();
            return;
          }
          @SuppressWarnings("unchecked") // only accept(T) puts anything else in
          T t = (T) item;
          lines.write(t);
        }
        if (batch.size() < BATCH) {
          lines.flush();
          // Parked, not waiting on the queue: a producer's offer then wakes nobody.
          LockSupport.parkNanos(this, flushIntervalNanos);
        }
      }
    } catch (IOException e) {
      // Standard output is gone (a closed pipe): nothing left to write to; count what follows as dropped.
      queue.clear();
    }
  }

  /** Writes what is queued, within {@code budget}, and stops the thread. */
  public void close(Duration budget) throws InterruptedException {
    if (queue.offer(END, budget.toMillis(), TimeUnit.MILLISECONDS)) {
      LockSupport.unpark(thread);
    } else {
      thread.interrupt();
    }
    thread.join(Math.max(1, budget.toMillis()));
  }

  @Override
  public void close() throws InterruptedException {
    close(Duration.ofSeconds(2));
  }
}
