package dev.sidecars.runtime.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The breaker's states, driven by a clock the test moves: no waiting. */
class CircuitBreakerTest {
  private final AtomicLong now = new AtomicLong(1_000);
  private final CircuitBreaker breaker = new CircuitBreaker(3, Duration.ofSeconds(5), now::get);

  private void fail(int times) {
    for (int i = 0; i < times; i++) {
      breaker.tryAcquire().onFailure();
    }
  }

  @Test
  void opensAfterTheThresholdOfConsecutiveFailures() {
    fail(2);
    breaker.tryAcquire().onSuccess(); // a success resets the count
    fail(2);
    assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.CLOSED);
    fail(1);
    assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(breaker.tryAcquire()).isNull();
  }

  @Test
  void letsExactlyOneProbeThroughAfterTheOpenInterval() {
    fail(3);
    now.addAndGet(Duration.ofSeconds(5).toNanos() - 1);
    assertThat(breaker.tryAcquire()).isNull();
    now.addAndGet(1);
    assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
    CircuitBreaker.Permit probe = breaker.tryAcquire();
    assertThat(probe).isNotNull();
    assertThat(breaker.tryAcquire()).isNull(); // while the probe is out
    probe.onSuccess();
    assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(breaker.tryAcquire()).isNotNull();
  }

  @Test
  void aFailedProbeOpensItAgainForAnotherInterval() {
    fail(3);
    now.addAndGet(Duration.ofSeconds(5).toNanos());
    breaker.tryAcquire().onFailure();
    assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(breaker.tryAcquire()).isNull();
    now.addAndGet(Duration.ofSeconds(5).toNanos());
    assertThat(breaker.tryAcquire()).isNotNull();
  }
}
