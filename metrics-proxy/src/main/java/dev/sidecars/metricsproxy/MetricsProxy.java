package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.SidecarComponent;
import dev.sidecars.runtime.SidecarContext;
import dev.sidecars.runtime.admin.Readiness;
import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.runtime.http.AccessLog;
import dev.sidecars.runtime.http.AccessLogWriter;
import dev.sidecars.runtime.http.CircuitBreaker;
import dev.sidecars.runtime.http.ConcurrencyLimit;
import dev.sidecars.runtime.http.HttpMetrics;
import dev.sidecars.runtime.http.HttpTelemetry;
import dev.sidecars.runtime.proxy.Drain;
import dev.sidecars.runtime.proxy.Endpoint;
import dev.sidecars.runtime.proxy.ExchangeGuard;
import dev.sidecars.runtime.proxy.ExchangeHandler;
import dev.sidecars.runtime.proxy.Forwarder;
import dev.sidecars.runtime.proxy.GrpcAnswers;
import dev.sidecars.runtime.proxy.GrpcDeadline;
import dev.sidecars.runtime.proxy.ProxyEventLoops;
import dev.sidecars.runtime.proxy.ProxyServer;
import dev.sidecars.runtime.proxy.TelemetryHandler;
import dev.sidecars.runtime.proxy.UpstreamClient;
import dev.sidecars.runtime.rpc.RpcMetrics;
import dev.sidecars.runtime.tls.HandshakeFailures;
import dev.sidecars.runtime.tls.ServerTls;
import dev.sidecars.runtime.tls.ServerTlsConfig;
import dev.sidecars.runtime.tls.TlsMaterialSource;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The running ingress proxy: a {@link ProxyServer} (HTTP/1.1 and h2c on one port, over TLS as {@code
 * TLS_MODE} says) whose handler chain is gRPC answers, the drain, telemetry, the client-certificate header,
 * authorization, rate limits, the guard, the gRPC deadline, then the forwarder to the app over pooled
 * keep-alive HTTP/1.1 and multiplexed h2c connections.
 */
final class MetricsProxy implements SidecarComponent {
  /** {@code TARGET_URL}'s host name not resolved, by reason: {@code dns_failures_total}. */
  static final String DNS_FAILURES = "dns.failures";

  private final MetricsProxyConfig config;
  private final ProxyEventLoops loops;
  private final HostResolver resolver;
  private final ProxyServer server;
  private final Drain drain;
  private final Readiness readiness;
  private final AppReadiness appReadiness;
  private final AccessLogWriter<AccessLog.Entry> accessLogWriter;
  private final TlsMaterialSource tlsMaterial;

  private MetricsProxy(MetricsProxyConfig config, ProxyEventLoops loops, HostResolver resolver, ProxyServer server,
      Drain drain, AppReadiness appReadiness, AccessLogWriter<AccessLog.Entry> accessLogWriter,
      TlsMaterialSource tlsMaterial) {
    this.config = config;
    this.tlsMaterial = tlsMaterial;
    this.loops = loops;
    this.resolver = resolver;
    this.server = server;
    this.drain = drain;
    this.appReadiness = appReadiness;
    this.accessLogWriter = accessLogWriter;
    this.readiness = appReadiness == null ? Readiness.ALWAYS : appReadiness;
  }

  static MetricsProxy start(MetricsProxyConfig config, SidecarContext context, PrintStream out) {
    HttpMetrics metrics = new HttpMetrics(context.meters(), HttpMetrics.Side.SERVER, config.seriesLimit());
    AccessLogWriter<AccessLog.Entry> accessLogWriter = null;
    AccessLog accessLog = AccessLog.off();
    if (config.accessLog()) {
      accessLogWriter = AccessLogWriter.counted(out, context.meters());
      accessLog = AccessLog.entriesTo(accessLogWriter);
    }
    ProxyEventLoops loops = new ProxyEventLoops(config.ioThreads(), "metrics-proxy-io");
    // TARGET_URL's host, when a name, is looked up off the event loops when a connection to the app is made.
    HostResolver resolver = HostResolver.withDefaults(context.meters(), DNS_FAILURES);
    UpstreamClient client = new UpstreamClient(loops, resolver, UpstreamClient.DEFAULT_CONNECT_TIMEOUT, config.idleTimeout());
    Endpoint app = new Endpoint(config.target().getHost(), config.target().getPort());
    ExchangeHandler forward = new Forwarder(client, Forwarder.to(app, config.targetProtocol()), config.upstreamTimeout());
    ExchangeHandler deadline = new GrpcDeadline(forward, config.upstreamTimeout());
    ExchangeHandler guarded = new ExchangeGuard(
        deadline,
        new CircuitBreaker(config.breakerFailures(), config.breakerOpen(), System::nanoTime),
        config.maxConcurrentRequests() > 0 ? new ConcurrencyLimit(config.maxConcurrentRequests()) : null,
        new ExchangeGuard.Limits(config.maxHeaderBytes(), config.maxRequestBytes(), config.requestBodyTimeout()));
    if (!config.rateLimits().isEmpty()) {
      guarded = new RateLimitHandler(guarded, config.rateLimits(), config.routes(), config.authorization(), context.meters());
    }
    if (!config.authorization().allowsEverything()) {
      // Before the rate limits: a refused caller spends no token.
      guarded = new AuthorizationHandler(guarded, config.authorization(), config.routes(), context.meters());
    }
    ExchangeHandler identified = new ForwardedClientCertHandler(guarded);
    RpcMetrics rpcMetrics = new RpcMetrics(context.meters(), RpcMetrics.Side.SERVER, config.seriesLimit());
    ExchangeHandler observed = new TelemetryHandler(identified, new HttpTelemetry(
        context.telemetry().tracer(), context.telemetry().propagation(), metrics, rpcMetrics, config.routes(), accessLog));
    // Outermost, so the 503s after the drain delay close their connections too (and are not counted as
    // the app's traffic), and keep-alive clients reconnect elsewhere.
    Drain drain = new Drain(observed, context.lifecycle()::isStopping);
    // Around everything, so every answer of the proxy's own to a gRPC client is in gRPC's form.
    ExchangeHandler root = new GrpcAnswers(drain);
    HandshakeFailures failures = new HandshakeFailures(context.meters(), System::nanoTime);
    ServerTlsConfig tlsConfig = config.tls();
    TlsMaterialSource material = tlsConfig.files().isEmpty() ? null
        : TlsMaterialSource.start(tlsConfig.files().get(), context.meters(), Clock.systemUTC(), TlsMaterialSource.DEFAULT_POLL);
    ProxyServer server;
    try {
      ServerTls tls = ServerTls.create(tlsConfig.mode(), material, failures, config.tlsHandshakeTimeout());
      server = ProxyServer.start(new ProxyServer.Settings(context.bindAddress(), config.proxyPort(), config.maxHeaderBytes(),
          config.requestHeaderTimeout(), config.idleTimeout()), root, loops, tls);
    } catch (Exception e) { // a taken port comes as Netty's BindException
      loops.close();
      resolver.close();
      if (material != null) {
        material.close();
      }
      throw e;
    }
    AppReadiness appReadiness = null;
    if (config.readinessPath().isPresent()) {
      appReadiness = new AppReadiness(config.target(), config.readinessPath().get(), config.readinessInterval());
      appReadiness.start();
    }
    return new MetricsProxy(config, loops, resolver, server, drain, appReadiness, accessLogWriter, material);
  }

  @Override
  public Map<String, Integer> ports() {
    return Map.of("proxy", server.port());
  }

  @Override
  public Readiness readiness() {
    return readiness;
  }

  /**
   * Keeps serving for the drain delay (so endpoint removal catches up with {@code /readyz} turning 503;
   * HTTP/1.1 answers meanwhile carry {@code Connection: close}), then tells HTTP/2 clients to go away
   * (GOAWAY), answers new requests 503 and waits for those in flight; {@link #close()} then closes the
   * listener and every connection.
   */
  @Override
  public void drain(Duration budget) throws InterruptedException {
    long deadline = System.nanoTime() + budget.toNanos();
    Duration delay = config.drainDelay().compareTo(budget.dividedBy(2)) < 0 ? config.drainDelay() : budget.dividedBy(2);
    Thread.sleep(delay.toMillis());
    drain.shutdown();
    Duration remaining = Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime()));
    server.goAway(remaining);
    drain.awaitIdle(remaining);
  }

  @Override
  public void close() throws InterruptedException {
    Optional.ofNullable(appReadiness).ifPresent(AppReadiness::close);
    server.close();
    loops.close();
    resolver.close();
    if (tlsMaterial != null) {
      tlsMaterial.close();
    }
    if (accessLogWriter != null) {
      accessLogWriter.close();
    }
  }
}
