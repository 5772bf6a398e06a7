package dev.sidecars.runtime.http;

import io.micrometer.core.instrument.Counter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The series of one metric by label combination, at most {@code limit} of them: later combinations are
 * recorded in the one overflow series, and counted. {@link HttpMetrics} and the RPC metrics bound their
 * cardinality with it.
 *
 * @param <K> a label combination
 * @param <S> what is recorded into for one combination
 */
public final class SeriesLimit<K, S> {
  private final int limit;
  private final Function<K, S> register;
  private final Map<K, S> series = new ConcurrentHashMap<>();
  private final S overflow;
  private final Counter overflowCount;

  /**
   * @param limit label combinations before folding (at least 1)
   * @param register makes the series of a new combination
   * @param overflow the series folded combinations are recorded in
   * @param overflowCount counts recordings folded
   */
  public SeriesLimit(int limit, Function<K, S> register, S overflow, Counter overflowCount) {
    if (limit < 1) {
      throw new IllegalArgumentException("seriesLimit must be at least 1");
    }
    this.limit = limit;
    this.register = register;
    this.overflow = overflow;
    this.overflowCount = overflowCount;
  }

  /** The series of {@code key}, registered now if there is room, else the overflow series. */
  public S get(K key) {
    S s = series.get(key);
    if (s != null) {
      return s;
    }
    if (series.size() >= limit) {
      overflowCount.increment();
      return overflow;
    }
    // A race may admit a few series beyond the limit; bounded by the number of threads, which is fine.
    return series.computeIfAbsent(key, register);
  }

  /** The number of label combinations in use, the overflow series not counted. */
  public int size() {
    return series.size();
  }
}
