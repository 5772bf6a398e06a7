package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.http.ConcurrencyLimit;
import dev.sidecars.traceinjector.routing.Destination;
import dev.sidecars.traceinjector.routing.UpstreamTable;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.DoubleSupplier;
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;

/**
 * Every upstream the sidecar calls: those of {@code UPSTREAMS}, made at start, and DNS names made on
 * first use and kept in a bounded least-recently-used set, so neither memory nor metric series grow with
 * the number of distinct names an app calls.
 */
public final class Upstreams implements AutoCloseable {
  private final UpstreamTable table;
  private final UpstreamPolicy policy;
  private final MeterRegistry registry;
  private final LongSupplier nanoClock;
  private final DoubleSupplier jitter;
  private final IntUnaryOperator random;
  private final ConcurrencyLimit limit;
  private final Map<String, Upstream> listed = new LinkedHashMap<>();
  private final LinkedHashMap<String, Upstream> dynamic = new LinkedHashMap<>(16, 0.75f, true);
  /**
   * Closes evicted upstreams off the request path: closing a connection pool waits for every I/O thread
   * that used it, including the one that would be asking, for up to ten seconds.
   */
  private final ExecutorService closer = Executors.newSingleThreadExecutor(task -> {
    Thread thread = new Thread(task, "upstream-closer");
    thread.setDaemon(true);
    return thread;
  });

  public Upstreams(
      UpstreamTable table,
      UpstreamPolicy policy,
      MeterRegistry registry,
      LongSupplier nanoClock,
      DoubleSupplier jitter,
      IntUnaryOperator random) {
    this.table = table;
    this.policy = policy;
    this.registry = registry;
    this.nanoClock = nanoClock;
    this.jitter = jitter;
    this.random = random;
    this.limit = policy.maxConcurrentRequests() > 0 ? new ConcurrencyLimit(policy.maxConcurrentRequests()) : null;
    table.services().forEach((name, urls) -> listed.put(name, create(name, urls)));
  }

  private Upstream create(String name, List<URI> urls) {
    return new Upstream(name, urls, policy, limit, registry, nanoClock, jitter, random);
  }

  /** The upstream for a destination; empty only if it cannot be made (a bad DNS name). */
  public Optional<Upstream> resolve(Destination destination) {
    Optional<List<URI>> urls = table.lookup(destination.service());
    if (urls.isPresent()) {
      return Optional.of(listed.get(destination.service()));
    }
    String key = destination.port() == 80 ? destination.service() : destination.service() + ":" + destination.port();
    Upstream evicted = null;
    Upstream upstream;
    synchronized (dynamic) {
      upstream = dynamic.get(key);
      if (upstream == null) {
        URI uri;
        try {
          uri = new URI("http", null, destination.service(), destination.port(), null, null, null);
        } catch (URISyntaxException e) {
          return Optional.empty();
        }
        upstream = create(key, List.of(uri));
        dynamic.put(key, upstream);
        if (dynamic.size() > policy.maxDynamicUpstreams()) {
          var eldest = dynamic.entrySet().iterator().next();
          evicted = eldest.getValue();
          dynamic.remove(eldest.getKey());
        }
      }
    }
    if (evicted != null) {
      closer.execute(evicted::close);
    }
    return Optional.of(upstream);
  }

  @Override
  public void close() {
    List<Upstream> all = new ArrayList<>(listed.values());
    synchronized (dynamic) {
      all.addAll(dynamic.values());
      dynamic.clear();
    }
    all.forEach(Upstream::close);
    closer.shutdown();
  }
}
