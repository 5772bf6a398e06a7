package dev.sidecars.collector.store;

import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The newest {@code capacity} spans, indexed by trace. Spans are kept encoded (a few hundred bytes each)
 * rather than as parsed messages, which cost several times more heap.
 */
public final class SpanStore {
  private record Stored(TraceId traceId, String service, String name, Resource resource, InstrumentationScope scope, byte[] encoded) {
    Received<Span> decode() {
      try {
        return new Received<>(resource, scope, Span.parseFrom(encoded));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("stored span no longer decodes", e);
      }
    }
  }

  private final BoundedRing<Stored> ring;
  private final Map<TraceId, ArrayDeque<Stored>> byTrace = new HashMap<>();
  private final Map<String, Integer> services = new HashMap<>();

  public SpanStore(int capacity) {
    this.ring = new BoundedRing<>(capacity, this::forget);
  }

  /** Stores the spans of one resource and scope. */
  public void add(Resource resource, InstrumentationScope scope, List<Span> spans) {
    String service = Resources.serviceName(resource);
    List<Stored> stored = new ArrayList<>(spans.size());
    for (Span span : spans) {
      stored.add(new Stored(TraceId.of(span.getTraceId()), service, span.getName(), resource, scope, span.toByteArray()));
    }
    synchronized (this) {
      for (Stored s : stored) {
        ring.add(s);
        byTrace.computeIfAbsent(s.traceId(), k -> new ArrayDeque<>(4)).addLast(s);
        services.merge(s.service(), 1, Integer::sum);
      }
    }
  }

  private void forget(Stored s) {
    ArrayDeque<Stored> trace = byTrace.get(s.traceId());
    if (trace != null) {
      // Spans of a trace arrive in ring order, so the evicted one is the oldest of its trace.
      if (trace.peekFirst() == s) {
        trace.pollFirst();
      } else {
        trace.remove(s);
      }
      if (trace.isEmpty()) {
        byTrace.remove(s.traceId());
      }
    }
    services.computeIfPresent(s.service(), (k, n) -> n == 1 ? null : n - 1);
  }

  /**
   * The newest {@code limit} traces having a span of {@code service} (any when null) named {@code
   * operation} (any when null), oldest first, each as its spans in arrival order.
   */
  public List<List<Received<Span>>> traces(String service, String operation, int limit) {
    List<List<Stored>> found = new ArrayList<>();
    synchronized (this) {
      Set<TraceId> seen = new LinkedHashSet<>();
      for (Iterator<Stored> it = ring.newestFirst(); it.hasNext() && seen.size() < limit; ) {
        Stored s = it.next();
        if ((service == null || service.equals(s.service()))
            && (operation == null || operation.equals(s.name()))
            && seen.add(s.traceId())) {
          found.add(new ArrayList<>(byTrace.get(s.traceId())));
        }
      }
    }
    Collections.reverse(found);
    return found.stream().map(spans -> spans.stream().map(Stored::decode).toList()).toList();
  }

  public Optional<List<Received<Span>>> trace(TraceId traceId) {
    List<Stored> spans;
    synchronized (this) {
      ArrayDeque<Stored> trace = byTrace.get(traceId);
      spans = trace == null ? null : new ArrayList<>(trace);
    }
    return Optional.ofNullable(spans).map(list -> list.stream().map(Stored::decode).toList());
  }

  /** The newest {@code limit} spans of {@code service} (any when null), oldest first. */
  public List<Received<Span>> spans(String service, int limit) {
    List<Stored> found;
    synchronized (this) {
      found = ring.newest(s -> service == null || service.equals(s.service()), limit);
    }
    return found.stream().map(Stored::decode).toList();
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
    byTrace.clear();
    services.clear();
  }
}
