package dev.sidecars.runtime.ratelimit;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One bucket per peer identity, at most {@code maxIdentities} of them, however many identities arrive.
 * Lookups are lock-free; only adding a bucket takes a lock. When the table is full, a newcomer may take the
 * place of a <em>full</em> bucket (one whose identity has been quiet long enough to refill: dropping it loses
 * nothing), found by a clock hand that looks at a few buckets per arrival. If none of those is full, the
 * newcomer shares one overflow bucket (same rate and burst) with every other identity left without a bucket
 * of its own. Nobody can reset their own bucket by crowding the table: a bucket that is not full is never
 * dropped. Requests without an identity share one bucket.
 */
final class IdentityBuckets {
  private static final int LOOK_AT = 8;
  private static final String ANONYMOUS = "";

  private final long interval;
  private final long burst;
  private final int maxIdentities;
  private final Map<String, TokenBucket> buckets = new ConcurrentHashMap<>();
  private final TokenBucket overflow;
  private final Object lock = new Object();
  private Iterator<Map.Entry<String, TokenBucket>> hand;

  IdentityBuckets(long interval, long burst, int maxIdentities, long now) {
    this.interval = interval;
    this.burst = burst;
    this.maxIdentities = maxIdentities;
    this.overflow = new TokenBucket(interval, burst, now);
  }

  /** Takes a token from {@code identity}'s bucket: {@link TokenBucket#TAKEN} or nanoseconds to wait. */
  long tryTake(String identity, long now) {
    String key = identity == null ? ANONYMOUS : identity;
    while (true) {
      long result = bucket(key, now).tryTake(now);
      if (result != TokenBucket.RETIRED) {
        return result;
      }
    }
  }

  private TokenBucket bucket(String key, long now) {
    TokenBucket bucket = buckets.get(key);
    if (bucket != null) {
      return bucket;
    }
    synchronized (lock) {
      bucket = buckets.get(key);
      if (bucket != null) {
        return bucket;
      }
      if (buckets.size() >= maxIdentities && !evictOneFull(now)) {
        return overflow;
      }
      bucket = new TokenBucket(interval, burst, now);
      buckets.put(key, bucket);
      return bucket;
    }
  }

  private boolean evictOneFull(long now) {
    for (int i = 0; i < LOOK_AT; i++) {
      if (hand == null || !hand.hasNext()) {
        hand = buckets.entrySet().iterator();
        if (!hand.hasNext()) {
          return false;
        }
      }
      Map.Entry<String, TokenBucket> entry = hand.next();
      if (entry.getValue().retireIfFull(now)) {
        buckets.remove(entry.getKey(), entry.getValue());
        return true;
      }
    }
    return false;
  }

  int size() {
    return buckets.size();
  }
}
