package dev.sidecars.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What one phase of a load run counted: calls, failures by reason, and the latency of each call that
 * succeeded, in microseconds, from the moment the call was due (which is when it was sent unless the
 * generator or the connection was still busy: see {@link CallLoad}).
 */
final class CallStats {
  /** Distinct failure reasons kept; more are counted under "other". */
  private static final int MAX_REASONS = 20;

  private final Ticker ticker;
  private final long start;
  private final Recorder latencies = new Recorder(3);
  private final LongAdder ok = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final Map<String, Long> reasons = new LinkedHashMap<>();
  private final AtomicLong lastEnd = new AtomicLong();
  private final Object inFlightLock = new Object();
  private long issued;
  private long inFlight;
  private volatile long lastIssue;
  private Histogram histogram;

  CallStats(Ticker ticker, long start) {
    this.ticker = ticker;
    this.start = start;
    this.lastEnd.set(start);
    this.lastIssue = start;
  }

  /** Counts a call as sent, due at {@code due}; the outcome records it and then runs {@code after}. */
  Caller.Outcome issue(long due, Runnable after) {
    synchronized (inFlightLock) {
      issued++;
      inFlight++;
    }
    lastIssue = ticker.nanoTime();
    return new Caller.Outcome() {
      private boolean ended;

      @Override
      public void ok() {
        if (first()) {
          long now = ticker.nanoTime();
          latencies.recordValue(Math.max(0, TimeUnit.NANOSECONDS.toMicros(now - due)));
          ok.increment();
          end(now);
        }
      }

      @Override
      public void failed(String reason) {
        if (first()) {
          failed.increment();
          synchronized (reasons) {
            String key = reasons.size() < MAX_REASONS || reasons.containsKey(reason) ? reason : "other";
            reasons.merge(key, 1L, Long::sum);
          }
          end(ticker.nanoTime());
        }
      }

      private synchronized boolean first() {
        boolean first = !ended;
        ended = true;
        return first;
      }

      // Counted first, then no longer in flight: whoever sees the phase quiet sees every count.
      private void end(long now) {
        lastEnd.accumulateAndGet(now, Math::max);
        synchronized (inFlightLock) {
          if (--inFlight == 0) {
            inFlightLock.notifyAll();
          }
        }
        after.run();
      }
    };
  }

  /** Waits (in real time) until every call issued has ended; false if some had not by the timeout. */
  boolean awaitQuiet(long timeoutNanos) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutNanos;
    synchronized (inFlightLock) {
      while (inFlight > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(inFlightLock, left);
      }
    }
    return true;
  }

  /** The latencies recorded so far (call once, after {@link #awaitQuiet}). */
  Histogram histogram() {
    if (histogram == null) {
      histogram = latencies.getIntervalHistogram();
    }
    return histogram;
  }

  long issued() {
    synchronized (inFlightLock) {
      return issued;
    }
  }

  long ok() {
    return ok.sum();
  }

  long failed() {
    return failed.sum();
  }

  Map<String, Long> reasons() {
    synchronized (reasons) {
      return new LinkedHashMap<>(reasons);
    }
  }

  long start() {
    return start;
  }

  /** When the last call was sent. */
  long lastIssue() {
    return lastIssue;
  }

  /** When the last call ended (the start if none did). */
  long lastEnd() {
    return lastEnd.get();
  }
}
