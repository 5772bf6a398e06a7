package dev.sidecars.traceinjector;

import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.runtime.http.HttpMetrics;
import dev.sidecars.runtime.tls.ServerTls;
import dev.sidecars.runtime.tls.UpstreamTlsConfig;
import dev.sidecars.traceinjector.egress.EgressPolicy;
import dev.sidecars.traceinjector.routing.UpstreamTable;
import dev.sidecars.traceinjector.upstream.UpstreamPolicy;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The trace-injector's own variables, read once and all checked together.
 *
 * @param proxyPort {@code PROXY_PORT}
 * @param upstreams {@code UPSTREAMS}
 * @param policy timeouts, retries, breaker, ejection, pooling
 * @param ownNames {@code OWN_HOST_NAMES} and {@code HOSTNAME}: Host values that mean the sidecar itself
 * @param accessLog {@code ACCESS_LOG}: one JSON line per request on standard output
 * @param seriesLimit {@code METRIC_SERIES_LIMIT}: label combinations per metric before the overflow series
 * @param drainDelay {@code DRAIN_DELAY}: after SIGTERM, how long calls are still proxied (the app may be
 *     finishing its own requests, which call out) before new ones are refused
 * @param proxyBindAddress {@code PROXY_BIND_ADDRESS}: the egress port's address, loopback unless set (the app
 *     is in the same pod; nothing else should reach it)
 * @param egress {@code EGRESS_ALLOW}: where calls not named in {@code UPSTREAMS} may go
 * @param dns {@code DNS_*}: how host names are resolved
 * @param upstreamTls {@code UPSTREAM_TLS} and the TLS files
 * @param tlsHandshakeTimeout {@code TLS_HANDSHAKE_TIMEOUT}: how long an upstream's TLS handshake may take
 */
public record TraceInjectorConfig(
    int proxyPort,
    UpstreamTable upstreams,
    UpstreamPolicy policy,
    Set<String> ownNames,
    boolean accessLog,
    int seriesLimit,
    Duration drainDelay,
    String proxyBindAddress,
    EgressPolicy egress,
    Dns dns,
    UpstreamTlsConfig upstreamTls,
    Duration tlsHandshakeTimeout) {
  /**
   * How host names are resolved off the I/O threads.
   *
   * @param threads {@code DNS_RESOLVER_THREADS}: lookups at once
   * @param queue {@code DNS_QUEUE_SIZE}: lookups waiting before new ones are answered 502
   * @param ttl {@code DNS_CACHE_TTL}: how long an address is kept
   * @param negativeTtl {@code DNS_NEGATIVE_CACHE_TTL}: how long a failed lookup is kept
   */
  public record Dns(int threads, int queue, Duration ttl, Duration negativeTtl) {}

  /** The proxy port when {@code PROXY_PORT} is unset. */
  public static final int DEFAULT_PROXY_PORT = 15002;

  public static TraceInjectorConfig from(Settings settings) {
    int port = settings.port("PROXY_PORT", DEFAULT_PROXY_PORT);
    UpstreamTable table = UpstreamTable.from(settings, "UPSTREAMS");
    Duration timeout = settings.duration("UPSTREAM_TIMEOUT", Duration.ofSeconds(30));
    Map<String, Duration> timeouts = new LinkedHashMap<>();
    for (String entry : settings.list("UPSTREAM_TIMEOUTS")) {
      int eq = entry.indexOf('=');
      Duration d = eq < 0 ? null : Settings.of(Map.of("T", entry.substring(eq + 1))).duration("T", null);
      if (d == null) {
        settings.problem("UPSTREAM_TIMEOUTS", entry, "name=duration pairs, comma-separated, e.g. ledger=2s");
      } else {
        timeouts.put(entry.substring(0, eq).trim().toLowerCase(Locale.ROOT), d);
      }
    }
    int retries = settings.integer("RETRY_MAX", 2, 0, 10);
    int ratioPercent = settings.integer("RETRY_BUDGET_PERCENT", 20, 0, 100);
    int reserve = settings.integer("RETRY_BUDGET_MIN", 3, 0, 1000);
    Duration backoffBase = settings.duration("RETRY_BACKOFF", Duration.ofMillis(25));
    Duration backoffMax = settings.duration("RETRY_BACKOFF_MAX", Duration.ofSeconds(1));
    int breakerFailures = settings.integer("BREAKER_FAILURES", 5, 1, 10_000);
    Duration breakerOpen = settings.duration("BREAKER_OPEN", Duration.ofSeconds(5));
    int ejectAfter = settings.integer("EJECT_AFTER_FAILURES", 5, 1, 10_000);
    Duration ejectFor = settings.duration("EJECT_FOR", Duration.ofSeconds(30));
    int connections = settings.integer("UPSTREAM_CONNECTIONS", 32, 1, 10_000);
    int maxDynamic = settings.integer("MAX_DNS_UPSTREAMS", 256, 1, 100_000);
    int maxConcurrent = settings.integer("MAX_CONCURRENT_REQUESTS", 10_000, 0, 1_000_000);
    boolean accessLog = settings.bool("ACCESS_LOG", true);
    int seriesLimit = settings.integer("METRIC_SERIES_LIMIT", HttpMetrics.DEFAULT_SERIES_LIMIT, 1, 1_000_000);
    Duration drainDelay = settings.duration("DRAIN_DELAY", Duration.ofSeconds(5));
    Set<String> own = new HashSet<>();
    settings.list("OWN_HOST_NAMES").forEach(n -> own.add(n.toLowerCase(Locale.ROOT)));
    settings.optional("HOSTNAME").ifPresent(n -> own.add(n.toLowerCase(Locale.ROOT)));
    String proxyBind = settings.string("PROXY_BIND_ADDRESS", "127.0.0.1");
    EgressPolicy egress = EgressPolicy.from(settings);
    Dns dns = new Dns(
        settings.integer("DNS_RESOLVER_THREADS", HostResolver.DEFAULT_THREADS, 1, 256),
        settings.integer("DNS_QUEUE_SIZE", HostResolver.DEFAULT_QUEUE, 1, 100_000),
        settings.duration("DNS_CACHE_TTL", HostResolver.DEFAULT_TTL),
        settings.duration("DNS_NEGATIVE_CACHE_TTL", HostResolver.DEFAULT_NEGATIVE_TTL));
    UpstreamTlsConfig upstreamTls = UpstreamTlsConfig.from(settings);
    Duration handshakeTimeout = settings.duration("TLS_HANDSHAKE_TIMEOUT", ServerTls.DEFAULT_HANDSHAKE_TIMEOUT);
    if (handshakeTimeout.isZero() || handshakeTimeout.isNegative()) {
      settings.problem("TLS_HANDSHAKE_TIMEOUT", settings.string("TLS_HANDSHAKE_TIMEOUT", ""),
          "a duration above zero, such as 500ms or 10s");
    }
    UpstreamPolicy policy = new UpstreamPolicy(timeout, timeouts, retries, ratioPercent / 100.0, reserve, backoffBase,
        backoffMax, breakerFailures, breakerOpen, ejectAfter, ejectFor, connections, maxDynamic, maxConcurrent);
    return new TraceInjectorConfig(port, table, policy, Set.copyOf(own), accessLog, seriesLimit,
        drainDelay, proxyBind, egress, dns, upstreamTls, handshakeTimeout);
  }
}
