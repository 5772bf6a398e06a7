package dev.sidecars.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The two kinds of load bench/'s generators put on a target through a {@link Caller}.
 *
 * <p>{@link #paced}: calls due at a fixed rate, each call's latency counted from when it was due rather
 * than from when it left, so a stall is charged to every call it delayed (no coordinated omission: a
 * generator that waited for the stall before sending would record one slow call where a real client
 * population sees hundreds). Slots are dealt round-robin to the connections; a blocking caller has one
 * thread per connection, each sending its slots in turn, late if its previous answer was late; an
 * asynchronous caller has all slots sent by one thread, whatever is still in flight.
 *
 * <p>{@link #max}: a closed loop with a fixed number of calls in flight, each sent as soon as one ends,
 * for the most calls per second the target completes.
 */
final class CallLoad {
  private final Ticker ticker;

  CallLoad(Ticker ticker) {
    this.ticker = ticker;
  }

  CallStats paced(Caller caller, int connections, double rate, long durationNanos, long drainNanos)
      throws InterruptedException {
    long slots = (long) Math.floor(rate * durationNanos / 1e9);
    int lanes = caller.blocking() ? connections : 1;
    long start = ticker.nanoTime();
    CallStats stats = new CallStats(ticker, start);
    List<Thread> threads = new ArrayList<>();
    for (int lane = 0; lane < lanes; lane++) {
      int first = lane;
      threads.add(start("paced-" + lane, () -> {
        for (long slot = first; slot < slots; slot += lanes) {
          long due = start + (long) (slot * 1e9 / rate);
          ticker.parkUntil(due);
          caller.call((int) (slot % connections), stats.issue(due, () -> { }));
        }
      }));
    }
    for (Thread t : threads) {
      t.join();
    }
    stats.awaitQuiet(drainNanos);
    return stats;
  }

  CallStats max(Caller caller, int connections, int concurrency, long durationNanos, long drainNanos)
      throws InterruptedException {
    long start = ticker.nanoTime();
    long end = start + durationNanos;
    CallStats stats = new CallStats(ticker, start);
    if (caller.blocking()) {
      List<Thread> threads = new ArrayList<>();
      for (int lane = 0; lane < concurrency; lane++) {
        int connection = lane % connections;
        threads.add(start("max-" + lane, () -> {
          long now;
          while ((now = ticker.nanoTime()) < end) {
            caller.call(connection, stats.issue(now, () -> { }));
          }
        }));
      }
      for (Thread t : threads) {
        t.join();
      }
    } else {
      Semaphore inFlight = new Semaphore(concurrency);
      long n = 0;
      while (ticker.nanoTime() < end) {
        if (inFlight.tryAcquire(10, TimeUnit.MILLISECONDS)) {
          caller.call((int) (n++ % connections), stats.issue(ticker.nanoTime(), inFlight::release));
        }
      }
    }
    stats.awaitQuiet(drainNanos);
    return stats;
  }

  private static Thread start(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }
}
