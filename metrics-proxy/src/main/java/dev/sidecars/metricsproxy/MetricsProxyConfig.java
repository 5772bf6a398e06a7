package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.authz.AuthorizationPolicy;
import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.http.HttpMetrics;
import dev.sidecars.runtime.http.RouteTemplates;
import dev.sidecars.runtime.proxy.UpstreamProtocol;
import dev.sidecars.runtime.ratelimit.RateLimits;
import dev.sidecars.runtime.tls.ServerTls;
import dev.sidecars.runtime.tls.ServerTlsConfig;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.LongSupplier;

/** Everything metrics-proxy reads from its variables, validated once at start. */
record MetricsProxyConfig(
    int proxyPort,
    URI target,
    UpstreamProtocol targetProtocol,
    RouteTemplates routes,
    Duration upstreamTimeout,
    Optional<String> readinessPath,
    Duration readinessInterval,
    Duration drainDelay,
    int maxConcurrentRequests,
    long maxRequestBytes,
    int maxHeaderBytes,
    Duration requestHeaderTimeout,
    Duration requestBodyTimeout,
    Duration idleTimeout,
    int breakerFailures,
    Duration breakerOpen,
    boolean accessLog,
    int seriesLimit,
    int ioThreads,
    ServerTlsConfig tls,
    Duration tlsHandshakeTimeout,
    AuthorizationPolicy authorization,
    RateLimits rateLimits) {

  static final int DEFAULT_PROXY_PORT = 15001;

  /** Reads every variable; problems go to {@code settings} so all are reported together. */
  static MetricsProxyConfig from(Settings settings) {
    return from(settings, System::nanoTime);
  }

  /** As {@link #from(Settings)}, the rate limits' buckets on {@code nanoTime} (tests move it by hand). */
  static MetricsProxyConfig from(Settings settings, LongSupplier nanoTime) {
    int port = settings.port("PROXY_PORT", DEFAULT_PROXY_PORT);
    URI target = target(settings);
    UpstreamProtocol targetProtocol = protocol(settings);
    RouteTemplates routes = routes(settings);
    Duration upstreamTimeout = settings.duration("UPSTREAM_TIMEOUT", Duration.ofSeconds(30));
    Optional<String> readinessPath = settings.optional("READINESS_PATH");
    if (readinessPath.isPresent() && !readinessPath.get().startsWith("/")) {
      settings.problem("READINESS_PATH", readinessPath.get(), "a path starting with /, such as /healthz");
    }
    Duration readinessInterval = positive(settings, "READINESS_INTERVAL", Duration.ofSeconds(2));
    Duration drainDelay = settings.duration("DRAIN_DELAY", Duration.ofSeconds(5));
    int maxConcurrent = settings.integer("MAX_CONCURRENT_REQUESTS", 10_000, 0, 1_000_000);
    long maxRequestBytes = settings.bytes("MAX_REQUEST_BYTES", 0, 0);
    int maxHeaderBytes = (int) Math.min(Integer.MAX_VALUE, settings.bytes("MAX_HEADER_BYTES", 64 * 1024, 1024));
    Duration headerTimeout = positive(settings, "REQUEST_HEADER_TIMEOUT", Duration.ofSeconds(10));
    Duration bodyTimeout = settings.duration("REQUEST_BODY_TIMEOUT", Duration.ofSeconds(30));
    Duration idleTimeout = positive(settings, "IDLE_TIMEOUT", Duration.ofSeconds(60));
    int breakerFailures = settings.integer("BREAKER_FAILURES", 5, 1, 1_000_000);
    Duration breakerOpen = positive(settings, "BREAKER_OPEN", Duration.ofSeconds(5));
    boolean accessLog = settings.bool("ACCESS_LOG", true);
    int seriesLimit = settings.integer("METRIC_SERIES_LIMIT", HttpMetrics.DEFAULT_SERIES_LIMIT, 1, 1_000_000);
    int ioThreads = settings.integer("PROXY_IO_THREADS", Math.max(1, Runtime.getRuntime().availableProcessors()), 1, 256);
    ServerTlsConfig tls = ServerTlsConfig.from(settings);
    Duration handshakeTimeout = positive(settings, "TLS_HANDSHAKE_TIMEOUT", ServerTls.DEFAULT_HANDSHAKE_TIMEOUT);
    AuthorizationPolicy authorization = AuthorizationPolicy.from(settings);
    RateLimits rateLimits = RateLimits.from(settings, routes, nanoTime);
    return new MetricsProxyConfig(port, target, targetProtocol, routes, upstreamTimeout, readinessPath, readinessInterval, drainDelay,
        maxConcurrent, maxRequestBytes, maxHeaderBytes, headerTimeout, bodyTimeout, idleTimeout, breakerFailures, breakerOpen,
        accessLog, seriesLimit, ioThreads, tls, handshakeTimeout, authorization, rateLimits);
  }

  private static URI target(Settings settings) {
    String value = settings.string("TARGET_URL", "http://127.0.0.1:8080");
    try {
      URI uri = new URI(value);
      if ("http".equalsIgnoreCase(uri.getScheme()) && uri.getHost() != null
          && (uri.getPath() == null || uri.getPath().isEmpty() || uri.getPath().equals("/"))
          && uri.getQuery() == null) {
        return new URI("http", null, uri.getHost(), uri.getPort() < 0 ? 80 : uri.getPort(), null, null, null);
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    settings.problem("TARGET_URL", value, "an http URL with a host and no path, such as http://127.0.0.1:8080");
    return URI.create("http://127.0.0.1:8080");
  }

  private static UpstreamProtocol protocol(Settings settings) {
    String value = settings.string("TARGET_PROTOCOL", UpstreamProtocol.AUTO.text());
    return UpstreamProtocol.parse(value).orElseGet(() -> {
      settings.problem("TARGET_PROTOCOL", value, "auto, http1 or h2c");
      return UpstreamProtocol.AUTO;
    });
  }

  private static RouteTemplates routes(Settings settings) {
    try {
      return RouteTemplates.parse(settings.list("ROUTES"));
    } catch (IllegalArgumentException e) {
      settings.problem("ROUTES", settings.string("ROUTES", ""),
          "comma-separated templates such as /users/{id},/orders/{id}/items (" + e.getMessage() + ")");
      return RouteTemplates.none();
    }
  }

  private static Duration positive(Settings settings, String name, Duration defaultValue) {
    Duration d = settings.duration(name, defaultValue);
    if (d.isZero() || d.isNegative()) {
      settings.problem(name, settings.string(name, ""), "a duration above zero, such as 500ms or 10s");
      return defaultValue;
    }
    return d;
  }
}
