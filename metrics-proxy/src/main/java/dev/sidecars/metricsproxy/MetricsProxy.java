package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.SidecarComponent;
import dev.sidecars.runtime.SidecarContext;
import dev.sidecars.runtime.admin.Readiness;
import dev.sidecars.runtime.http.AccessLog;
import dev.sidecars.runtime.http.AccessLogWriter;
import dev.sidecars.runtime.http.CircuitBreaker;
import dev.sidecars.runtime.http.CloseWhileStopping;
import dev.sidecars.runtime.http.ConcurrencyLimit;
import dev.sidecars.runtime.http.HttpMetrics;
import dev.sidecars.runtime.http.HttpTelemetryHandler;
import dev.sidecars.runtime.http.ObservedProxyClient;
import dev.sidecars.runtime.http.UpstreamGuard;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.handlers.GracefulShutdownHandler;
import io.undertow.server.handlers.proxy.LoadBalancingProxyClient;
import io.undertow.util.Headers;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.xnio.Options;

/**
 * The running ingress proxy: an Undertow listener whose handler chain is telemetry, then the upstream
 * guard, then Undertow's reverse proxy with a pooled keep-alive client to the app.
 */
final class MetricsProxy implements SidecarComponent {
  private final MetricsProxyConfig config;
  private final Undertow server;
  private final GracefulShutdownHandler graceful;
  private final Readiness readiness;
  private final AppReadiness appReadiness;
  private final AccessLogWriter<AccessLog.Entry> accessLogWriter;

  private MetricsProxy(MetricsProxyConfig config, Undertow server, GracefulShutdownHandler graceful,
      AppReadiness appReadiness, AccessLogWriter<AccessLog.Entry> accessLogWriter) {
    this.config = config;
    this.accessLogWriter = accessLogWriter;
    this.server = server;
    this.graceful = graceful;
    this.appReadiness = appReadiness;
    this.readiness = appReadiness == null ? Readiness.ALWAYS : appReadiness;
  }

  static MetricsProxy start(MetricsProxyConfig config, SidecarContext context, PrintStream out) {
    HttpMetrics metrics = new HttpMetrics(context.meters(), HttpMetrics.Side.SERVER, config.seriesLimit());

    // The pool is a ceiling, not preallocated: it admits every request the concurrency limit lets in (with
    // no limit, 1024 per IO thread, Envoy's default ceiling). A request finding its IO thread's share full
    // waits for a connection instead of being shed.
    int limit = config.maxConcurrentRequests();
    LoadBalancingProxyClient client = ObservedProxyClient
        .pooledClient(limit > 0 ? Math.max(8, limit / config.ioThreads() + 1) : 1024, limit)
        .setTtl((int) Math.min(Integer.MAX_VALUE, config.idleTimeout().toMillis() / 2))
        .addHost(config.target(), null, null, ObservedProxyClient.UPSTREAM_OPTIONS);
    HttpHandler proxy = ObservedProxyClient.proxyHandler(client, config.upstreamTimeout());
    // HTTP/1.0 requests may come without Host; the request to the app is HTTP/1.1, which requires one.
    String targetAuthority = config.target().getHost() + ":" + config.target().getPort();
    HttpHandler withHost = exchange -> {
      if (!exchange.getRequestHeaders().contains(Headers.HOST)) {
        exchange.getRequestHeaders().put(Headers.HOST, targetAuthority);
      }
      proxy.handleRequest(exchange);
    };
    HttpHandler guarded = new UpstreamGuard(
        withHost,
        new CircuitBreaker(config.breakerFailures(), config.breakerOpen(), System::nanoTime),
        config.maxConcurrentRequests() > 0 ? new ConcurrencyLimit(config.maxConcurrentRequests()) : null,
        new UpstreamGuard.Limits(config.maxHeaderBytes(), config.maxRequestBytes(), config.requestBodyTimeout()));
    AccessLogWriter<AccessLog.Entry> accessLogWriter = null;
    AccessLog accessLog = AccessLog.off();
    if (config.accessLog()) {
      accessLogWriter = AccessLogWriter.counted(out, context.meters());
      accessLog = AccessLog.entriesTo(accessLogWriter);
    }
    HttpHandler observed = new HttpTelemetryHandler(
        guarded, context.telemetry().tracer(), context.telemetry().propagation(), metrics, config.routes(), accessLog);
    GracefulShutdownHandler graceful = new GracefulShutdownHandler(observed);
    // Outermost, so the 503s the graceful handler gives once the drain delay is over close their
    // connections too, and keep-alive clients reconnect elsewhere.
    HttpHandler root = new CloseWhileStopping(graceful, context.lifecycle()::isStopping);

    Undertow server = Undertow.builder()
        .setIoThreads(config.ioThreads())
        .setBufferSize(ObservedProxyClient.BUFFER_BYTES)
        .setWorkerThreads(Math.max(2, config.ioThreads()))
        .addHttpListener(config.proxyPort(), context.bindAddress())
        // Undertow answers 400 at its own limit; ours, checked by UpstreamGuard, answers 431 below it.
        .setServerOption(UndertowOptions.MAX_HEADER_SIZE, (int) Math.min(Integer.MAX_VALUE, 2L * config.maxHeaderBytes()))
        // Undertow cuts bodies above 2 MiB by default. MAX_REQUEST_BYTES is UpstreamGuard's to enforce: Undertow's
        // own limit would end a cut chunked body upstream as if it were complete.
        .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, -1L)
        // Characters real clients send unencoded in a query or path (|, {, ", <) pass through as they are;
        // UpstreamGuard refuses control characters, which this lets through too. Nothing is decoded: with
        // unescaped characters allowed Undertow would decode the request target it relays. (Its parser refuses
        // a % not followed by two hex digits whatever the options: that is no valid URI.)
        .setServerOption(UndertowOptions.ALLOW_UNESCAPED_CHARACTERS_IN_URL, true)
        .setServerOption(UndertowOptions.DECODE_URL, false)
        .setServerOption(UndertowOptions.REQUEST_PARSE_TIMEOUT, (int) config.requestHeaderTimeout().toMillis())
        .setServerOption(UndertowOptions.NO_REQUEST_TIMEOUT, (int) config.idleTimeout().toMillis())
        .setServerOption(UndertowOptions.IDLE_TIMEOUT, (int) config.idleTimeout().toMillis())
        .setServerOption(UndertowOptions.ALWAYS_SET_KEEP_ALIVE, false)
        .setSocketOption(Options.TCP_NODELAY, true)
        .setHandler(root)
        .build();
    server.start();
    AppReadiness appReadiness = null;
    if (config.readinessPath().isPresent()) {
      appReadiness = new AppReadiness(config.target(), config.readinessPath().get(), config.readinessInterval());
      appReadiness.start();
    }
    return new MetricsProxy(config, server, graceful, appReadiness, accessLogWriter);
  }

  @Override
  public Map<String, Integer> ports() {
    return Map.of("proxy", ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort());
  }

  @Override
  public Readiness readiness() {
    return readiness;
  }

  /**
   * Keeps serving for the drain delay (so endpoint removal catches up with {@code /readyz} turning 503),
   * then refuses new requests and waits for in-flight ones; {@link #close()} then closes the listener.
   */
  @Override
  public void drain(Duration budget) throws InterruptedException {
    long deadline = System.nanoTime() + budget.toNanos();
    Duration delay = config.drainDelay().compareTo(budget.dividedBy(2)) < 0 ? config.drainDelay() : budget.dividedBy(2);
    Thread.sleep(delay.toMillis());
    // From here new requests are answered 503 with Connection: close while in-flight ones finish. (Undertow's
    // ListenerInfo.suspend() would stop accepting, but it also closes connections with requests in flight.)
    graceful.shutdown();
    long remainingMillis = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
    graceful.awaitShutdown(remainingMillis);
  }

  @Override
  public void close() throws InterruptedException {
    Optional.ofNullable(appReadiness).ifPresent(AppReadiness::close);
    server.stop();
    if (accessLogWriter != null) {
      accessLogWriter.close();
    }
  }
}
