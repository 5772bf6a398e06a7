package dev.sidecars.collector.store;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Items in arrival order, at most {@code capacity}; the oldest go first and are counted. Not thread-safe:
 * each store guards its ring with its own lock.
 */
final class BoundedRing<T> {
  private final int capacity;
  private final ArrayDeque<T> items;
  private final Consumer<T> onEvict;
  private long added;
  private long evicted;

  BoundedRing(int capacity, Consumer<T> onEvict) {
    this.capacity = capacity;
    this.items = new ArrayDeque<>(Math.min(capacity, 1 << 16));
    this.onEvict = onEvict;
  }

  void add(T item) {
    if (items.size() == capacity) {
      onEvict.accept(items.pollFirst());
      evicted++;
    }
    items.addLast(item);
    added++;
  }

  /** The newest {@code limit} matches, oldest first. */
  List<T> newest(Predicate<T> filter, int limit) {
    ArrayList<T> out = new ArrayList<>();
    for (Iterator<T> it = items.descendingIterator(); it.hasNext() && out.size() < limit; ) {
      T item = it.next();
      if (filter.test(item)) {
        out.add(item);
      }
    }
    java.util.Collections.reverse(out);
    return out;
  }

  Iterator<T> newestFirst() {
    return items.descendingIterator();
  }

  int size() {
    return items.size();
  }

  long added() {
    return added;
  }

  long evicted() {
    return evicted;
  }

  void clear() {
    items.clear();
  }
}
