package dev.sidecars.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CallLoadTest {
  /** Time moves only when the load parks until a call is due, or when a call says it took time. */
  static final class FakeTicker implements Ticker {
    final AtomicLong now = new AtomicLong(1_000_000_000L);

    @Override
    public long nanoTime() {
      return now.get();
    }

    @Override
    public void parkUntil(long deadline) {
      now.accumulateAndGet(deadline, Math::max);
    }
  }

  /** A blocking caller whose third call stalls for 200 ms; every other call answers at once. */
  static Caller stallingOnce(FakeTicker ticker) {
    AtomicInteger calls = new AtomicInteger();
    return new Caller() {
      @Override
      public void call(int connection, Outcome outcome) {
        if (calls.incrementAndGet() == 3) {
          ticker.now.addAndGet(TimeUnit.MILLISECONDS.toNanos(200));
        }
        outcome.ok();
      }

      @Override
      public boolean blocking() {
        return true;
      }

      @Override
      public void close() {}
    };
  }

  @Test
  void aStallIsChargedToEveryCallItDelayedNotOnlyToTheOneThatStalled() throws Exception {
    FakeTicker ticker = new FakeTicker();
    CallStats stats = new CallLoad(ticker).paced(stallingOnce(ticker), 1, 1000, TimeUnit.SECONDS.toNanos(1),
        TimeUnit.SECONDS.toNanos(5));

    assertThat(stats.issued()).isEqualTo(1000);
    assertThat(stats.ok()).isEqualTo(1000);
    // The calls due in the 200 ms after the stall left late, each counted from when it was due: 200 ms
    // down to 1 ms, so a fifth of the calls are slow and the 99th percentile is about 190 ms. Counted
    // from when each left, only one call would be slow and the 99th percentile would be 0.
    assertThat(stats.histogram().getValueAtPercentile(99)).isBetween(180_000L, 200_000L);
    assertThat(stats.histogram().getMaxValue()).isBetween(199_000L, 201_000L);
    assertThat(stats.histogram().getValueAtPercentile(50)).isZero();
    assertThat(stats.histogram().getTotalCount()).isEqualTo(1000);
  }

  @Test
  void pacedSlotsAreDealtRoundRobinToTheConnections() throws Exception {
    FakeTicker ticker = new FakeTicker();
    AtomicInteger[] perConnection = {new AtomicInteger(), new AtomicInteger(), new AtomicInteger()};
    Caller caller = new Caller() {
      @Override
      public void call(int connection, Outcome outcome) {
        perConnection[connection].incrementAndGet();
        outcome.ok();
      }

      @Override
      public boolean blocking() {
        return false;
      }

      @Override
      public void close() {}
    };
    CallStats stats = new CallLoad(ticker).paced(caller, 3, 300, TimeUnit.SECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(5));

    assertThat(stats.issued()).isEqualTo(300);
    assertThat(perConnection).allSatisfy(n -> assertThat(n.get()).isEqualTo(100));
    // Sent on time by one thread, answered at once: no latency at all.
    assertThat(stats.histogram().getMaxValue()).isZero();
  }

  @Test
  void maxKeepsExactlyTheGivenCallsInFlightAndCountsFailuresApart() throws Exception {
    ExecutorService answers = Executors.newSingleThreadExecutor();
    FakeTicker ticker = new FakeTicker(); // a millisecond passes per answer, however busy the machine
    List<Caller.Outcome> waiting = new ArrayList<>();
    AtomicInteger highest = new AtomicInteger();
    AtomicInteger n = new AtomicInteger();
    // Answers nothing until six calls wait, then all six: a load keeping fewer in flight would stall
    // here (almost no calls), one keeping more would show more than six waiting.
    Caller caller = new Caller() {
      @Override
      public synchronized void call(int connection, Outcome outcome) {
        waiting.add(outcome);
        highest.accumulateAndGet(waiting.size(), Math::max);
        if (waiting.size() == 6) {
          List<Outcome> batch = List.copyOf(waiting);
          waiting.clear();
          answers.execute(() -> batch.forEach(o -> {
            ticker.now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
            if (n.incrementAndGet() % 10 == 0) {
              o.failed("UNAVAILABLE");
            } else {
              o.ok();
            }
          }));
        }
      }

      @Override
      public boolean blocking() {
        return false;
      }

      @Override
      public void close() {}
    };
    try {
      CallStats stats = new CallLoad(ticker).max(caller, 2, 6, TimeUnit.MILLISECONDS.toNanos(60),
          TimeUnit.MILLISECONDS.toNanos(100));

      assertThat(highest.get()).isEqualTo(6);
      assertThat(stats.issued()).isBetween(60L, 66L);
      assertThat(stats.ok() + stats.failed()).isEqualTo(n.get());
      assertThat(stats.failed()).isEqualTo(n.get() / 10);
      assertThat(stats.reasons()).containsOnlyKeys("UNAVAILABLE");
      assertThat(stats.histogram().getTotalCount()).isEqualTo(stats.ok());
    } finally {
      answers.shutdownNow();
    }
  }

  @Test
  void aWatchedProcessListedTwiceIsCountedOnce() {
    String self = Long.toString(ProcessHandle.current().pid());
    ProcessWatch once = ProcessWatch.of(self);
    ProcessWatch twice = ProcessWatch.of(self + "," + self);

    assertThat(once.rssKb()).isPositive();
    // RSS moves between two readings, but not by a factor of two.
    assertThat(twice.rssKb()).isLessThan(once.rssKb() * 3 / 2);
    assertThat(ProcessWatch.of("").watching()).isFalse();
  }
}
