package dev.sidecars.traceinjector.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Backoff and retry budget, with the jitter under the test's control. */
class PolicyPartsTest {
  @Test
  void backoffDoublesUpToTheCapAndIsFullyJittered() {
    Backoff full = new Backoff(Duration.ofMillis(25), Duration.ofMillis(150), () -> 1.0);
    assertThat(full.before(1)).isEqualTo(Duration.ofMillis(25));
    assertThat(full.before(2)).isEqualTo(Duration.ofMillis(50));
    assertThat(full.before(3)).isEqualTo(Duration.ofMillis(100));
    assertThat(full.before(4)).isEqualTo(Duration.ofMillis(150));
    assertThat(full.before(60)).isEqualTo(Duration.ofMillis(150));
    assertThat(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), () -> 0.25).before(2)).isEqualTo(Duration.ofMillis(50));
    assertThat(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), () -> 0.0).before(3)).isZero();
  }

  @Test
  void retryBudgetAllowsTwentyPercentPlusTheReserve() {
    RetryBudget budget = new RetryBudget(0.2, 2, 10);
    int allowed = 0;
    for (int i = 0; i < 100; i++) {
      budget.deposit();
      if (budget.tryWithdraw()) {
        allowed++;
      }
      if (budget.tryWithdraw()) {
        allowed++;
      }
    }
    assertThat(allowed).isBetween(20, 22);
  }

  @Test
  void retryBudgetDoesNotSaveUpWithoutBound() {
    RetryBudget budget = new RetryBudget(0.2, 0, 10);
    for (int i = 0; i < 10_000; i++) {
      budget.deposit();
    }
    int burst = 0;
    while (budget.tryWithdraw()) {
      burst++;
    }
    assertThat(burst).isEqualTo(10);
  }
}
