package dev.sidecars.runtime.dns;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Resolves a proxy's host names off its I/O threads: the names of its upstreams when a pooled connection is
 * made ({@link HostResolverGroup}), and an egress proxy's destinations. Java's resolver blocks, for as long as
 * the system's resolver takes (tens of seconds when it is slow), so lookups run on a few threads of their own
 * behind a bounded queue; a burst of names that do not resolve fills the queue and is answered at once
 * instead of stalling every call. Answers are kept for a time, failures for a shorter one, and concurrent
 * lookups of one name share one. Failures are counted in the counter the proxy names (trace-injector's is
 * {@code trace_injector_dns_failures_total}) by {@code reason}: {@code not_found}, {@code queue_full},
 * {@code timeout}.
 */
public final class HostResolver implements AutoCloseable {
  /** Looks one name up, blocking: {@link InetAddress#getByName} in production. */
  @FunctionalInterface
  public interface Lookup {
    InetAddress lookup(String host) throws UnknownHostException;
  }

  /** An answer: an address, or why there is none. */
  public record Result(InetAddress address, String failure) {
    public boolean resolved() {
      return address != null;
    }
  }

  private record Cached(Result result, long expiresNanos) {}

  /** Lookups at once unless the proxy says otherwise. */
  public static final int DEFAULT_THREADS = 4;
  /** Lookups waiting for a thread, unless the proxy says otherwise, before new ones are refused. */
  public static final int DEFAULT_QUEUE = 64;
  /** How long an address is kept unless the proxy says otherwise (the JDK's own cache keeps one 30 s). */
  public static final Duration DEFAULT_TTL = Duration.ofSeconds(30);
  /** How long a failure is kept unless the proxy says otherwise. */
  public static final Duration DEFAULT_NEGATIVE_TTL = Duration.ofSeconds(5);

  /** Names kept at most; past it the expired ones go, then all (an app calling that many names is rare). */
  private static final int MAX_CACHED = 10_000;

  private final Lookup lookup;
  private final long ttlNanos;
  private final long negativeTtlNanos;
  private final LongSupplier nanoClock;
  private final ThreadPoolExecutor pool;
  private final Map<String, Cached> cache = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Result>> pending = new ConcurrentHashMap<>();
  private final Counter notFound;
  private final Counter queueFull;
  private final Counter timedOut;

  /**
   * @param threads lookups at once
   * @param queue lookups waiting for a thread before new ones are refused
   * @param ttl how long an address is kept
   * @param negativeTtl how long a failure is kept
   * @param failuresMeter the name of the counter of failures, e.g. {@code trace_injector.dns.failures}
   */
  public HostResolver(Lookup lookup, int threads, int queue, Duration ttl, Duration negativeTtl, LongSupplier nanoClock,
      MeterRegistry meters, String failuresMeter) {
    this.lookup = lookup;
    this.ttlNanos = ttl.toNanos();
    this.negativeTtlNanos = negativeTtl.toNanos();
    this.nanoClock = nanoClock;
    this.pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queue), task -> {
      Thread thread = new Thread(task, "dns-resolver");
      thread.setDaemon(true);
      return thread;
    });
    this.notFound = failures(meters, failuresMeter, "not_found");
    this.queueFull = failures(meters, failuresMeter, "queue_full");
    this.timedOut = failures(meters, failuresMeter, "timeout");
  }

  /** The system's resolver ({@link InetAddress#getByName}) with the default threads, queue and TTLs. */
  public static HostResolver withDefaults(MeterRegistry meters, String failuresMeter) {
    return new HostResolver(InetAddress::getByName, DEFAULT_THREADS, DEFAULT_QUEUE, DEFAULT_TTL, DEFAULT_NEGATIVE_TTL,
        System::nanoTime, meters, failuresMeter);
  }

  private static Counter failures(MeterRegistry meters, String name, String reason) {
    return Counter.builder(name)
        .description("Host names the proxy could not resolve, by reason")
        .tag("reason", reason)
        .register(meters);
  }

  /** The cached answer for {@code host} while it is fresh, else {@code null}: then {@link #resolve} it. */
  public Result cached(String host) {
    Cached cached = cache.get(host);
    if (cached == null) {
      return null;
    }
    if (nanoClock.getAsLong() - cached.expiresNanos >= 0) {
      cache.remove(host, cached);
      return null;
    }
    return cached.result;
  }

  /**
   * Looks {@code host} up on a resolver thread and hands the answer to {@code done} there; false, with
   * nothing called, when the queue is full.
   */
  public boolean resolve(String host, Consumer<Result> done) {
    Result fresh = cached(host);
    if (fresh != null) {
      done.accept(fresh);
      return true;
    }
    CompletableFuture<Result> mine = new CompletableFuture<>();
    CompletableFuture<Result> shared = pending.putIfAbsent(host, mine);
    if (shared != null) {
      shared.thenAccept(done);
      return true;
    }
    try {
      pool.execute(() -> mine.complete(lookupAndCache(host)));
    } catch (RejectedExecutionException e) {
      pending.remove(host, mine);
      queueFull.increment();
      mine.complete(new Result(null, "the resolver's queue is full"));
      return false;
    }
    mine.thenAccept(done);
    return true;
  }

  private Result lookupAndCache(String host) {
    Result result;
    try {
      result = new Result(lookup.lookup(host), null);
    } catch (UnknownHostException | RuntimeException e) {
      notFound.increment();
      result = new Result(null, "cannot resolve " + host);
    }
    long now = nanoClock.getAsLong();
    if (cache.size() >= MAX_CACHED) {
      cache.values().removeIf(c -> now - c.expiresNanos >= 0);
      if (cache.size() >= MAX_CACHED) {
        cache.clear();
      }
    }
    cache.put(host, new Cached(result, now + (result.resolved() ? ttlNanos : negativeTtlNanos)));
    pending.remove(host);
    return result;
  }

  /** Counts a lookup the caller stopped waiting for (the request's own timeout came first). */
  public void timedOut() {
    timedOut.increment();
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
