package dev.sidecars.bench;

import java.util.concurrent.locks.LockSupport;

/** The load generators' clock, injectable so that pacing is tested without waiting. */
interface Ticker {
  long nanoTime();

  /** Returns at {@code deadline} ({@link #nanoTime()} scale), or at once if it has passed. */
  void parkUntil(long deadline);

  /** The system's monotonic clock; parks, then spins the last 50 µs so a call leaves on time. */
  Ticker SYSTEM = new Ticker() {
    private static final long SPIN_NANOS = 50_000;

    @Override
    public long nanoTime() {
      return System.nanoTime();
    }

    @Override
    public void parkUntil(long deadline) {
      long left;
      while ((left = deadline - System.nanoTime()) > 0) {
        if (left > SPIN_NANOS) {
          LockSupport.parkNanos(left - SPIN_NANOS);
        } else {
          Thread.onSpinWait();
        }
      }
    }
  };
}
