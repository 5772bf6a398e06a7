package dev.sidecars.runtime.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.http.RouteTemplates;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Exact counts on a clock the test moves, per-identity buckets in bounded memory, and the syntax. */
class RateLimitsTest {
  private static final RouteTemplates ROUTES = RouteTemplates.parse(List.of("/payments/{id}", "/search", "/orders"));
  private final AtomicLong now = new AtomicLong(-1_000_000_000_000L); // any origin, even a negative one

  private RateLimits limits(String text) {
    return limits(text, RateLimits.DEFAULT_MAX_IDENTITIES);
  }

  private RateLimits limits(String text, int maxIdentities) {
    return RateLimits.parse(text, ROUTES, now::get, maxIdentities);
  }

  private int allowed(RateLimits limits, String route, String identity, int attempts) {
    int allowed = 0;
    for (int i = 0; i < attempts; i++) {
      if (limits.check(route, identity).allowed()) {
        allowed++;
      }
    }
    return allowed;
  }

  @Test
  void atAFixedOfferedRateExactlyTheBurstPlusTheRateGetsThrough() {
    RateLimits limits = limits("/search=10/s");
    int allowed = 0;
    for (int i = 0; i < 1000; i++) { // 100 requests a second for 10 s, at t = 0, 10 ms, ..., 9.99 s
      if (limits.check("/search", null).allowed()) {
        allowed++;
      }
      now.addAndGet(Duration.ofMillis(10).toNanos());
    }
    // A full bucket of 10, then one token every 100 ms: 10 + floor(9.99 s * 10/s) = 109.
    assertThat(allowed).isEqualTo(109);
  }

  @Test
  void burstComesAtOnceThenTheRateAndRetryAfterSaysWhen() {
    RateLimits limits = limits("/payments/{id}=100/s burst 200");
    assertThat(allowed(limits, "/payments/{id}", null, 200)).isEqualTo(200);
    RateLimitDecision refused = limits.check("/payments/{id}", null);
    assertThat(refused.allowed()).isFalse();
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofMillis(10));
    assertThat(refused.retryAfterSeconds()).isEqualTo(1);
    assertThat(refused.limit()).isEqualTo("/payments/{id}=100/s burst 200");
    now.addAndGet(Duration.ofMillis(10).toNanos() - 1);
    assertThat(limits.check("/payments/{id}", null).allowed()).isFalse();
    now.addAndGet(1);
    assertThat(limits.check("/payments/{id}", null).allowed()).isTrue();
    now.addAndGet(Duration.ofSeconds(5).toNanos()); // a long pause refills to the burst, never beyond
    assertThat(allowed(limits, "/payments/{id}", null, 1000)).isEqualTo(200);
  }

  @Test
  void minutesAndHoursAndRetryAfterInWholeSeconds() {
    RateLimits limits = limits("/search=6/m burst 1; /orders=2/h");
    assertThat(allowed(limits, "/search", null, 5)).isEqualTo(1);
    assertThat(limits.check("/search", null).retryAfterSeconds()).isEqualTo(10);
    assertThat(allowed(limits, "/orders", null, 5)).isEqualTo(2);
    assertThat(limits.check("/orders", null).retryAfter()).isEqualTo(Duration.ofMinutes(30));
  }

  @Test
  void perIdentityGivesEachCallerItsOwnBucketAndThoseWithoutOneShareOne() {
    RateLimits limits = limits("/search=5/s per identity");
    assertThat(allowed(limits, "/search", "spiffe://a", 10)).isEqualTo(5);
    assertThat(allowed(limits, "/search", "spiffe://b", 10)).isEqualTo(5);
    assertThat(allowed(limits, "/search", null, 10)).isEqualTo(5);
    assertThat(allowed(limits, "/search", null, 10)).isZero();
  }

  @Test
  void aRouteWithSharedAndPerIdentityLimitsSpendsTheSharedBudgetOnlyOnRequestsThatGo() {
    RateLimits limits = limits("/search=10/s; /search=2/s per identity");
    assertThat(allowed(limits, "/search", "spiffe://greedy", 50)).isEqualTo(2);
    int others = 0;
    for (int i = 0; i < 20; i++) {
      others += allowed(limits, "/search", "spiffe://caller-" + i, 5);
    }
    assertThat(others).as("the greedy caller's refused requests spent nothing of the shared 10").isEqualTo(8);
  }

  @Test
  void starCoversEveryRouteWithoutALimitOfItsOwn() {
    RateLimits limits = limits("/search=100/s; *=3/s");
    assertThat(allowed(limits, "/orders", null, 2) + allowed(limits, RouteTemplates.UNMATCHED, null, 5)).isEqualTo(3);
    assertThat(allowed(limits, "/search", null, 50)).isEqualTo(50);
    assertThat(limits.routes()).containsExactly("/search");
    assertThat(RateLimits.none().check("/search", null).allowed()).isTrue();
  }

  @Test
  void memoryIsBoundedAndNewcomersBeyondTheTableShareTheOverflowBucket() {
    RateLimits limits = limits("/search=5/s per identity", 4);
    IdentityBuckets table = table(limits);
    for (int i = 0; i < 4; i++) {
      assertThat(allowed(limits, "/search", "spiffe://regular-" + i, 1)).isEqualTo(1); // spent a little: kept
    }
    int newcomers = 0;
    for (int i = 0; i < 10_000; i++) {
      newcomers += allowed(limits, "/search", "spiffe://flood-" + i, 1);
    }
    assertThat(table.size()).isEqualTo(4);
    assertThat(newcomers).as("all newcomers together get one bucket's worth").isEqualTo(5);
    assertThat(allowed(limits, "/search", "spiffe://regular-0", 10)).as("the regulars keep their own").isEqualTo(4);
  }

  @Test
  void crowdingTheTableCannotResetOnesOwnSpentBucket() {
    RateLimits limits = limits("/search=5/s per identity", 2);
    assertThat(allowed(limits, "/search", "spiffe://abuser", 10)).isEqualTo(5);
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < 100; i++) {
        limits.check("/search", "spiffe://sock-" + round + "-" + i);
      }
      assertThat(limits.check("/search", "spiffe://abuser").allowed()).as("still empty").isFalse();
    }
  }

  @Test
  void aFullBucketMakesRoomForANewcomerWhoThenHasItsOwn() {
    RateLimits limits = limits("/search=5/s per identity", 2);
    allowed(limits, "/search", "spiffe://a", 5);
    allowed(limits, "/search", "spiffe://b", 5);
    assertThat(allowed(limits, "/search", "spiffe://c", 10)).as("no room: the overflow bucket").isEqualTo(5);
    now.addAndGet(Duration.ofSeconds(1).toNanos()); // a and b refill completely: dropping them loses nothing
    assertThat(allowed(limits, "/search", "spiffe://d", 10)).isEqualTo(5);
    assertThat(allowed(limits, "/search", "spiffe://e", 10)).isEqualTo(5);
    assertThat(table(limits).size()).isEqualTo(2);
    assertThat(allowed(limits, "/search", "spiffe://a", 10)).as("back with a fresh, full bucket, as if never gone")
        .isEqualTo(5);
  }

  @Test
  void concurrentCallersNeverGetMoreThanTheBurst() throws Exception {
    RateLimits limits = limits("/search=1000/s burst 500; /orders=1000/s burst 50 per identity");
    AtomicInteger search = new AtomicInteger();
    AtomicInteger orders = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      Thread thread = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < 1000; i++) {
          if (limits.check("/search", null).allowed()) {
            search.incrementAndGet();
          }
          if (limits.check("/orders", "spiffe://same").allowed()) {
            orders.incrementAndGet();
          }
        }
      });
      thread.start();
      threads.add(thread);
    }
    start.countDown();
    for (Thread thread : threads) {
      thread.join(30_000);
    }
    assertThat(search.get()).isEqualTo(500);
    assertThat(orders.get()).isEqualTo(50);
  }

  @ParameterizedTest
  @CsvSource(delimiterString = " ~ ", value = {
      "/search ~ RATE_LIMITS=\"/search\": expected <route>=<count>/<s|m|h> [burst <n>] [per identity] (limit 1); there is no =",
      "/nope=1/s ~ RATE_LIMITS=\"/nope=1/s\": expected a route template of ROUTES, exactly as written there, or * for every other route (limit 1); \"/nope\" is not one of [/payments/{id}, /search, /orders]",
      "/search=10 ~ RATE_LIMITS=\"/search=10\": expected <count>/<s|m|h> [burst <n>] [per identity] after =, such as 100/s burst 200 per identity (limit 1)",
      "/search=10/s per ip ~ RATE_LIMITS=\"/search=10/s per ip\": expected <count>/<s|m|h> [burst <n>] [per identity] after =, such as 100/s burst 200 per identity (limit 1)",
      "/search=0/s ~ RATE_LIMITS=\"/search=0/s\": expected a count and burst of at least 1 (limit 1) (to refuse a route, use AUTHZ_POLICY)",
      "/search=1/s; /search=2/s ~ RATE_LIMITS=\"/search=2/s\": expected one shared limit per route (limit 2); /search has one already",
      "; ~ RATE_LIMITS=\";\": expected at least one limit, <route>=<count>/<s|m|h>; leave RATE_LIMITS unset for none",
  })
  void badLimitsAreOneLineNamingTheVariableAndTheLimit(String value, String problem) {
    Settings settings = Settings.of(Map.of("RATE_LIMITS", value));
    assertThat(RateLimits.from(settings, ROUTES, now::get).isEmpty()).isTrue();
    assertThatThrownBy(settings::validate).isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).problems()).containsExactly(problem));
  }

  @Test
  void unsetMeansNoLimits() {
    assertThat(RateLimits.from(Settings.of(Map.of()), ROUTES, now::get).isEmpty()).isTrue();
    assertThat(RateLimits.from(Settings.of(Map.of("RATE_LIMITS", "/search = 5 / s  BURST 7 Per Identity")), ROUTES,
        now::get).isEmpty()).isFalse();
  }

  private static IdentityBuckets table(RateLimits limits) {
    return limits.perIdentity("/search");
  }
}
