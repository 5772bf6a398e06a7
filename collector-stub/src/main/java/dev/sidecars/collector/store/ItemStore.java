package dev.sidecars.collector.store;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.resource.v1.Resource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The newest {@code capacity} log records or metric points, kept encoded, each filed under its service
 * and one key (the trace id of a log record, the name of a metric) so queries can filter on both.
 *
 * @param <T> {@code LogRecord}, or {@code Metric} holding one data point
 */
public final class ItemStore<T extends MessageLite> {
  private record Stored(String service, String key, Resource resource, InstrumentationScope scope, byte[] encoded) {}

  private final Parser<T> parser;
  private final BoundedRing<Stored> ring;
  private final Map<String, Integer> services = new HashMap<>();

  public ItemStore(int capacity, Parser<T> parser) {
    this.parser = parser;
    this.ring = new BoundedRing<>(capacity, s -> services.computeIfPresent(s.service(), (k, n) -> n == 1 ? null : n - 1));
  }

  /** Stores items of one resource and scope, each under the key given beside it. */
  public void add(Resource resource, InstrumentationScope scope, List<T> items, List<String> keys) {
    String service = Resources.serviceName(resource);
    Stored[] stored = new Stored[items.size()];
    for (int i = 0; i < stored.length; i++) {
      stored[i] = new Stored(service, keys.get(i), resource, scope, items.get(i).toByteArray());
    }
    synchronized (this) {
      for (Stored s : stored) {
        ring.add(s);
        services.merge(service, 1, Integer::sum);
      }
    }
  }

  /** The newest {@code limit} items matching (null matches all), oldest first. */
  public List<Received<T>> newest(String service, String key, int limit) {
    List<Stored> found;
    synchronized (this) {
      found =
          ring.newest(
              s -> (service == null || service.equals(s.service())) && (key == null || key.equals(s.key())),
              limit);
    }
    return found.stream().map(this::decode).toList();
  }

  private Received<T> decode(Stored s) {
    try {
      return new Received<>(s.resource(), s.scope(), parser.parseFrom(s.encoded()));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored item no longer decodes", e);
    }
  }

  public synchronized Set<String> services() {
    return new TreeSet<>(services.keySet());
  }

  public synchronized int size() {
    return ring.size();
  }

  public synchronized long evicted() {
    return ring.evicted();
  }

  public synchronized void clear() {
    ring.clear();
    services.clear();
  }
}
