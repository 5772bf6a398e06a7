package dev.sidecars.logforwarder;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.logforwarder.ship.Backoff;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Exponential back-off with jitter, checked with a seeded random source instead of waiting. */
class BackoffTest {
  @Test
  void doublesFromTheInitialDelayWithJitterInTheUpperHalfAndStopsAtTheCap() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), new Random(7));
    for (int attempt = 0; attempt < 40; attempt++) {
      long ceiling = Math.min(5000, 100L << Math.min(attempt, 30));
      long delay = backoff.delay(attempt).toMillis();
      assertThat(delay).as("attempt %d", attempt).isBetween(ceiling / 2, ceiling);
    }
  }

  @Test
  void jitterSpreadsRetriesOfTheSameAttempt() {
    Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30), new Random(1));
    assertThat(java.util.stream.IntStream.range(0, 20).mapToObj(i -> backoff.delay(3)).distinct().count()).isGreaterThan(10);
  }
}
