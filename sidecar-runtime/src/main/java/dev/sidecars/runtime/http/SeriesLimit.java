package dev.sidecars.runtime.http;

import io.micrometer.core.instrument.Counter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

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
  private final Supplier<S> overflowSeries;
  private volatile S overflow;
  private final Counter overflowCount;

  /**
   * @param limit label combinations before folding (at least 1)
   * @param register makes the series of a new combination
   * @param overflowSeries the series folded combinations are recorded in, asked for the first time one is
   *     folded (so it may register its meters then, and a metric that never overflows shows no empty
   *     overflow series); it may run more than once in a race, so it must return the same meters, as a
   *     registry does
   * @param overflowCount counts recordings folded
   */
  public SeriesLimit(int limit, Function<K, S> register, Supplier<S> overflowSeries, Counter overflowCount) {
    if (limit < 1) {
      throw new IllegalArgumentException("seriesLimit must be at least 1");
    }
    this.limit = limit;
    this.register = register;
    this.overflowSeries = overflowSeries;
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
      S o = overflow;
      if (o == null) {
        o = overflowSeries.get();
        overflow = o;
      }
      return o;
    }
    // A race may admit a few series beyond the limit; bounded by the number of threads, which is fine.
    return series.computeIfAbsent(key, register);
  }

  /** The number of label combinations in use, the overflow series not counted. */
  public int size() {
    return series.size();
  }
}
