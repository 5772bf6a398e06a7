package dev.sidecars.runtime.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Proves the shared stop sequence: drains, then flushes, then closes (closes in reverse order of
 * registration), run once however often stop is asked for, {@code isStopping()} true at once, a step
 * that overruns its budget abandoned so the rest still run within the grace period, and a failing step
 * not stopping the steps after it.
 */
class LifecycleTest {
  /** Released after each test so no abandoned step thread outlives it. */
  private final CountDownLatch neverReleased = new CountDownLatch(1);

  private final List<String> ran = new CopyOnWriteArrayList<>();

  @AfterEach
  void releaseAbandonedSteps() {
    neverReleased.countDown();
  }

  private Lifecycle.Step record(String name) {
    return budget -> ran.add(name);
  }

  @Test
  void drainsThenFlushesThenClosesInReverse() throws Exception {
    Lifecycle lifecycle = new Lifecycle(Duration.ofSeconds(5));
    // Registered out of phase order on purpose: the phase decides, not the order of the calls.
    lifecycle
        .onClose("close-server", record("close-server"))
        .onFlush("flush-traces", record("flush-traces"))
        .onDrain("drain-proxy", record("drain-proxy"))
        .onClose("close-files", record("close-files"))
        .onFlush("flush-metrics", record("flush-metrics"))
        .onDrain("drain-tail", record("drain-tail"));

    lifecycle.stop().get(5, TimeUnit.SECONDS);

    assertThat(ran)
        .containsExactly(
            "drain-proxy", "drain-tail", "flush-traces", "flush-metrics", "close-files", "close-server");
  }

  @Test
  void stopTwiceRunsTheStepsOnceAndReturnsTheSameFuture() throws Exception {
    Lifecycle lifecycle = new Lifecycle(Duration.ofSeconds(5));
    AtomicInteger drains = new AtomicInteger();
    AtomicInteger closes = new AtomicInteger();
    lifecycle.onDrain("drain", budget -> drains.incrementAndGet());
    lifecycle.onClose("close", budget -> closes.incrementAndGet());

    var first = lifecycle.stop();
    var second = lifecycle.stop();
    first.get(5, TimeUnit.SECONDS);
    var third = lifecycle.stop();

    assertThat(second).isSameAs(first);
    assertThat(third).isSameAs(first);
    assertThat(drains).hasValue(1);
    assertThat(closes).hasValue(1);
  }

  @Test
  void isStoppingFlipsAsSoonAsStopIsCalledWhileTheDrainIsStillRunning() throws Exception {
    Lifecycle lifecycle = new Lifecycle(Duration.ofSeconds(10));
    CountDownLatch drainStarted = new CountDownLatch(1);
    CountDownLatch releaseDrain = new CountDownLatch(1);
    lifecycle.onDrain(
        "drain",
        budget -> {
          drainStarted.countDown();
          releaseDrain.await(budget.toMillis(), TimeUnit.MILLISECONDS);
        });
    assertThat(lifecycle.isStopping()).isFalse();

    var stopped = lifecycle.stop();

    // Readiness reads this flag: it must be true before, not after, in-flight work is drained.
    assertThat(lifecycle.isStopping()).isTrue();
    assertThat(drainStarted.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(stopped).isNotDone();
    releaseDrain.countDown();
    stopped.get(5, TimeUnit.SECONDS);
    assertThat(lifecycle.isStopping()).isTrue();
  }

  @Test
  void aStepThatOverrunsIsAbandonedAndTheRestRunWithinTheGracePeriod() throws Exception {
    Duration grace = Duration.ofMillis(600);
    Lifecycle lifecycle = new Lifecycle(grace);
    AtomicReference<Duration> drainBudget = new AtomicReference<>();
    AtomicReference<Duration> flushBudget = new AtomicReference<>();
    lifecycle
        .onDrain(
            "stuck",
            budget -> {
              drainBudget.set(budget);
              neverReleased.await();
            })
        .onFlush(
            "flush",
            budget -> {
              flushBudget.set(budget);
              ran.add("flush");
            })
        .onClose("close", record("close"));

    long start = System.nanoTime();
    lifecycle.stop().get(10, TimeUnit.SECONDS);
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    assertThat(ran).containsExactly("flush", "close");
    // An upper bound on a correctness property: the process must be gone before the orchestrator kills it.
    assertThat(took).isLessThan(grace.plusMillis(400));
    assertThat(drainBudget.get()).isPositive().isLessThan(grace);
    // Part of the grace period is kept back from the drain so telemetry still gets time to flush.
    assertThat(flushBudget.get()).isPositive();
  }

  @Test
  void aFailingStepDoesNotStopTheRest() throws Exception {
    Lifecycle lifecycle = new Lifecycle(Duration.ofSeconds(5));
    lifecycle
        .onDrain(
            "broken-drain",
            budget -> {
              throw new java.io.IOException("socket already closed");
            })
        .onDrain("drain", record("drain"))
        .onFlush(
            "broken-flush",
            budget -> {
              throw new IllegalStateException("exporter gone");
            })
        .onFlush("flush", record("flush"))
        .onClose("close", record("close"))
        .onClose(
            "broken-close",
            budget -> {
              throw new IllegalStateException("already closed");
            });

    var stopped = lifecycle.stop();
    stopped.get(5, TimeUnit.SECONDS);

    assertThat(ran).containsExactly("drain", "flush", "close");
    assertThat(stopped).isCompletedWithValue(null);
  }

  @Test
  void theStopSaysHowLongItDrainsBeforeFlushing() {
    assertThat(Lifecycle.stoppingMessage(Duration.ofSeconds(20)))
        .isEqualTo("stopping: draining 15s at most, then flushing telemetry");
    assertThat(Lifecycle.stoppingMessage(Duration.ofSeconds(10)))
        .isEqualTo("stopping: draining 7.5s at most, then flushing telemetry");
    assertThat(Lifecycle.stoppingMessage(Duration.ofMinutes(1)))
        .isEqualTo("stopping: draining 55s at most, then flushing telemetry");
  }
}
