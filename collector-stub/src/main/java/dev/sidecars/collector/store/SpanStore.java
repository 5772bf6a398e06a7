package dev.sidecars.collector.store;

import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The newest {@code capacity} spans, indexed by trace, service and name. Spans are kept encoded, in a
 * {@link ByteArena}, with their index fields in parallel arrays: at hundreds of thousands of spans a
 * second, an object per stored span would keep the collector busy promoting and collecting them.
 *
 * <p>Every span gets a sequence number; it lives in slot {@code seq % slots.length} of the arrays, and
 * the spans of one trace are chained by sequence number, which stays valid when the arrays grow.
 */
public final class SpanStore {
  private static final int MAX_NAMES = 10_000;
  private static final long NONE = -1;

  /** The first and last span of one trace, by sequence number. */
  private static final class TraceChain {
    long first;
    long last;

    TraceChain(long seq) {
      first = seq;
      last = seq;
    }
  }

  private final int capacity;
  private long[] traceHigh;
  private long[] traceLow;
  private long[] nextInTrace;
  private String[] services;
  private String[] names;
  private Resource[] resources;
  private InstrumentationScope[] scopes;
  private ByteArena.Chunk[] chunks;
  private int[] offsets;
  private int[] lengths;

  private final ByteArena arena = new ByteArena();
  private final Map<TraceId, TraceChain> byTrace = new HashMap<>();
  private final Map<String, int[]> serviceCounts = new HashMap<>();
  private final Map<String, String> nameCopies = new HashMap<>();
  private long oldest; // sequence number of the oldest stored span
  private long next; // sequence number the next span gets
  private long evicted;

  public SpanStore(int capacity) {
    this.capacity = capacity;
    allocate(Math.min(capacity, 1024));
  }

  private void allocate(int slots) {
    traceHigh = new long[slots];
    traceLow = new long[slots];
    nextInTrace = new long[slots];
    services = new String[slots];
    names = new String[slots];
    resources = new Resource[slots];
    scopes = new InstrumentationScope[slots];
    chunks = new ByteArena.Chunk[slots];
    offsets = new int[slots];
    lengths = new int[slots];
  }

  /** Stores the spans of one resource and scope. */
  public synchronized void add(Resource resource, InstrumentationScope scope, List<EncodedSpan> spans) {
    String service = Resources.serviceName(resource);
    for (EncodedSpan span : spans) {
      if (next - oldest == capacity) {
        evictOldest();
      } else if (next - oldest == traceHigh.length) {
        grow();
      }
      long seq = next++;
      int slot = slot(seq);
      TraceId traceId = TraceId.of(span.span().getTraceId());
      traceHigh[slot] = traceId.high();
      traceLow[slot] = traceId.low();
      nextInTrace[slot] = NONE;
      services[slot] = service;
      names[slot] = nameCopy(span.span().getName());
      resources[slot] = resource;
      scopes[slot] = scope;
      ByteArena.Chunk chunk = arena.put(span.bytes(), span.offset(), span.length());
      chunks[slot] = chunk;
      offsets[slot] = chunk.used - span.length();
      lengths[slot] = span.length();
      TraceChain chain = byTrace.get(traceId);
      if (chain == null) {
        byTrace.put(traceId, new TraceChain(seq));
      } else {
        nextInTrace[slot(chain.last)] = seq;
        chain.last = seq;
      }
      // Counted after the eviction above, which may have removed this service's last span and entry.
      serviceCounts.computeIfAbsent(service, k -> new int[1])[0]++;
    }
  }

  private int slot(long seq) {
    return (int) (seq % traceHigh.length);
  }

  /** The parsed name is garbage at once; keeping one copy per distinct name keeps the store flat. */
  private String nameCopy(String name) {
    String copy = nameCopies.get(name);
    if (copy != null) {
      return copy;
    }
    if (nameCopies.size() >= MAX_NAMES) {
      nameCopies.clear();
    }
    nameCopies.put(name, name);
    return name;
  }

  private void grow() {
    int length = traceHigh.length;
    long[] h = traceHigh, l = traceLow, n = nextInTrace;
    String[] sv = services, nm = names;
    Resource[] r = resources;
    InstrumentationScope[] sc = scopes;
    ByteArena.Chunk[] ch = chunks;
    int[] off = offsets, len = lengths;
    allocate((int) Math.min(capacity, 2L * length));
    for (long seq = oldest; seq < next; seq++) {
      int from = (int) (seq % length);
      int to = slot(seq);
      traceHigh[to] = h[from];
      traceLow[to] = l[from];
      nextInTrace[to] = n[from];
      services[to] = sv[from];
      names[to] = nm[from];
      resources[to] = r[from];
      scopes[to] = sc[from];
      chunks[to] = ch[from];
      offsets[to] = off[from];
      lengths[to] = len[from];
    }
  }

  private void evictOldest() {
    int slot = slot(oldest);
    TraceId traceId = new TraceId(traceHigh[slot], traceLow[slot]);
    TraceChain chain = byTrace.get(traceId);
    // Spans enter their trace's chain in sequence order, so the oldest span heads its chain.
    if (chain.first == chain.last) {
      byTrace.remove(traceId);
    } else {
      chain.first = nextInTrace[slot];
    }
    int[] count = serviceCounts.get(services[slot]);
    if (--count[0] == 0) {
      serviceCounts.remove(services[slot]);
    }
    arena.release(chunks[slot]);
    services[slot] = null;
    names[slot] = null;
    resources[slot] = null;
    scopes[slot] = null;
    chunks[slot] = null;
    oldest++;
    evicted++;
  }

  private Received<Span> decode(long seq) {
    int slot = slot(seq);
    try {
      Span span = Span.parser().parseFrom(chunks[slot].bytes, offsets[slot], lengths[slot]);
      return new Received<>(resources[slot], scopes[slot], span);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored span no longer decodes", e);
    }
  }

  private List<Received<Span>> decodeTrace(TraceChain chain) {
    List<Received<Span>> spans = new ArrayList<>();
    for (long seq = chain.first; seq != NONE; seq = nextInTrace[slot(seq)]) {
      spans.add(decode(seq));
    }
    return spans;
  }

  /**
   * The newest {@code limit} traces having a span of {@code service} (any when null) named {@code
   * operation} (any when null), oldest first, each as its spans in arrival order.
   */
  public synchronized List<List<Received<Span>>> traces(String service, String operation, int limit) {
    Set<TraceId> found = new LinkedHashSet<>();
    for (long seq = next - 1; seq >= oldest && found.size() < limit; seq--) {
      int slot = slot(seq);
      if ((service == null || service.equals(services[slot])) && (operation == null || operation.equals(names[slot]))) {
        found.add(new TraceId(traceHigh[slot], traceLow[slot]));
      }
    }
    List<List<Received<Span>>> traces = new ArrayList<>(found.size());
    for (TraceId traceId : found) {
      traces.add(decodeTrace(byTrace.get(traceId)));
    }
    Collections.reverse(traces);
    return traces;
  }

  public synchronized Optional<List<Received<Span>>> trace(TraceId traceId) {
    TraceChain chain = byTrace.get(traceId);
    return chain == null ? Optional.empty() : Optional.of(decodeTrace(chain));
  }

  /** The newest {@code limit} spans of {@code service} (any when null), oldest first. */
  public synchronized List<Received<Span>> spans(String service, int limit) {
    List<Received<Span>> found = new ArrayList<>();
    for (long seq = next - 1; seq >= oldest && found.size() < limit; seq--) {
      if (service == null || service.equals(services[slot(seq)])) {
        found.add(decode(seq));
      }
    }
    Collections.reverse(found);
    return found;
  }

  public synchronized Set<String> services() {
    return new TreeSet<>(serviceCounts.keySet());
  }

  /** Arena chunks in use, for tests of the memory bound. */
  synchronized int arenaChunks() {
    return arena.chunksInUse();
  }

  public synchronized int size() {
    return (int) (next - oldest);
  }

  public synchronized long evicted() {
    return evicted;
  }

  /** Empties the store and gives its memory back; the eviction count since start stays. */
  public synchronized void clear() {
    byTrace.clear();
    serviceCounts.clear();
    nameCopies.clear();
    arena.clear();
    allocate(Math.min(capacity, 1024));
    oldest = next;
  }
}
