package dev.sidecars.traceinjector;

import dev.sidecars.runtime.SidecarComponent;
import dev.sidecars.runtime.SidecarContext;
import dev.sidecars.runtime.SidecarFactory;
import dev.sidecars.runtime.admin.Readiness;
import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.runtime.http.AccessLog;
import dev.sidecars.runtime.http.AccessLogWriter;
import dev.sidecars.runtime.http.HttpMetrics;
import dev.sidecars.runtime.http.HttpTelemetry;
import dev.sidecars.runtime.http.RouteTemplates;
import dev.sidecars.runtime.proxy.Drain;
import dev.sidecars.runtime.proxy.ExchangeHandler;
import dev.sidecars.runtime.proxy.GrpcAnswers;
import dev.sidecars.runtime.proxy.ProxyEventLoops;
import dev.sidecars.runtime.proxy.ProxyServer;
import dev.sidecars.runtime.proxy.TelemetryHandler;
import dev.sidecars.runtime.proxy.UpstreamClient;
import dev.sidecars.runtime.rpc.RpcMetrics;
import dev.sidecars.runtime.tls.HandshakeFailures;
import dev.sidecars.runtime.tls.TlsMaterialSource;
import dev.sidecars.runtime.tls.UpstreamTls;
import dev.sidecars.runtime.tls.UpstreamTlsConfig;
import dev.sidecars.traceinjector.egress.ConnectGate;
import dev.sidecars.traceinjector.egress.EgressResolution;
import dev.sidecars.traceinjector.egress.RoutingHandler;
import dev.sidecars.traceinjector.routing.Router;
import dev.sidecars.traceinjector.upstream.Upstreams;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;

/**
 * The trace-injector sidecar: an egress HTTP proxy on {@code PROXY_PORT} (HTTP/1.1 and h2c on one port, the
 * shared Netty data plane) that gives every outbound call a CLIENT span and correct trace context in every
 * configured format. {@code CONNECT} is tunnelled as is, to the destinations {@code EGRESS_ALLOW} allows.
 */
public final class TraceInjector implements SidecarFactory<TraceInjectorConfig> {
  /** The admin port when {@code ADMIN_PORT} is unset. */
  public static final int DEFAULT_ADMIN_PORT = 15091;
  /** The largest request line plus headers read (HTTP/1.1), and the header list size announced (HTTP/2). */
  static final int MAX_HEADER_BYTES = 64 * 1024;
  /** How long an HTTP/1.1 request's head may take to arrive. */
  static final Duration REQUEST_HEADER_TIMEOUT = Duration.ofSeconds(10);
  /** How long a connection, the app's or an upstream's, may stay idle before it is closed. */
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);
  /** Names that could not be resolved, by reason: {@code trace_injector_dns_failures_total}. */
  static final String DNS_FAILURES = "trace_injector.dns.failures";

  private final LongSupplier nanoClock;
  private final DoubleSupplier jitter;
  private final IntUnaryOperator random;
  private final HostResolver.Lookup lookup;

  /** With the system clock, thread-local randomness and the system's resolver. */
  public TraceInjector() {
    this(System::nanoTime, () -> ThreadLocalRandom.current().nextDouble(), n -> ThreadLocalRandom.current().nextInt(n));
  }

  /** With the clock, the backoff jitter (0..1) and the balancer's random choice passed in, for tests. */
  public TraceInjector(LongSupplier nanoClock, DoubleSupplier jitter, IntUnaryOperator random) {
    this(nanoClock, jitter, random, InetAddress::getByName);
  }

  /** With the name lookup passed in too, for tests of slow and failing resolvers. */
  public TraceInjector(LongSupplier nanoClock, DoubleSupplier jitter, IntUnaryOperator random, HostResolver.Lookup lookup) {
    this.nanoClock = nanoClock;
    this.jitter = jitter;
    this.random = random;
    this.lookup = lookup;
  }

  @Override
  public String name() {
    return "trace-injector";
  }

  @Override
  public int defaultAdminPort() {
    return DEFAULT_ADMIN_PORT;
  }

  @Override
  public TraceInjectorConfig configure(Settings settings) {
    return TraceInjectorConfig.from(settings);
  }

  @Override
  public SidecarComponent start(TraceInjectorConfig config, SidecarContext context) {
    ProxyEventLoops loops = new ProxyEventLoops(Math.max(1, Runtime.getRuntime().availableProcessors()), "trace-injector-io");
    TraceInjectorConfig.Dns dns = config.dns();
    // One resolver, so one cache: the names of UPSTREAMS when their connections are made, and the names calls
    // not listed there go to.
    HostResolver resolver = new HostResolver(lookup, dns.threads(), dns.queue(), dns.ttl(), dns.negativeTtl(), nanoClock,
        context.meters(), DNS_FAILURES);
    UpstreamClient client = new UpstreamClient(loops, resolver, UpstreamClient.DEFAULT_CONNECT_TIMEOUT, IDLE_TIMEOUT,
        config.policy().connectionsPerThread());
    HandshakeFailures handshakeFailures = new HandshakeFailures(context.meters(), System::nanoTime);
    UpstreamTlsConfig tlsConfig = config.upstreamTls();
    // Re-read every few seconds: new upstream connections present the rotated certificate, open ones keep theirs.
    TlsMaterialSource material = tlsConfig.files().isEmpty() ? null
        : TlsMaterialSource.start(tlsConfig.files().get(), context.meters(), Clock.systemUTC(), TlsMaterialSource.DEFAULT_POLL);
    UpstreamTls tls = UpstreamTls.create(tlsConfig.mode(), material, handshakeFailures, config.tlsHandshakeTimeout());
    Upstreams upstreams = new Upstreams(config.upstreams(), config.policy(), client, tls, context.meters(), nanoClock,
        jitter, random);
    AccessLogWriter<AccessLog.Entry> accessLogWriter = config.accessLog() ? AccessLogWriter.counted(System.out, context.meters()) : null;
    EgressResolution egress = new EgressResolution(config.egress(), resolver, config.policy()::timeoutFor, context.meters());
    HttpTelemetry telemetry = new HttpTelemetry(
        context.telemetry().tracer(),
        context.telemetry().propagation(),
        new HttpMetrics(context.meters(), HttpMetrics.Side.CLIENT, config.seriesLimit()),
        new RpcMetrics(context.meters(), RpcMetrics.Side.CLIENT, config.seriesLimit()),
        RouteTemplates.none(),
        accessLogWriter != null ? AccessLog.entriesTo(accessLogWriter) : AccessLog.off());
    ExchangeHandler routing = new RoutingHandler(new Router(config.ownNames()), upstreams, egress,
        RoutingHandler.randomRequestIds(), RoutingHandler.randomPseudonym());
    // A gRPC call is recorded as an RPC (span named package.Service/Method, rpc.* attributes, rpc_client_*).
    ExchangeHandler observed = new TelemetryHandler(routing, telemetry);
    // An allowed CONNECT is tunnelled before anything else looks at it: no span, no headers, bytes as they are.
    ExchangeHandler gate = new ConnectGate(observed, egress,
        refusal -> new TelemetryHandler(exchange -> RoutingHandler.refuse(exchange, refusal), telemetry),
        UpstreamClient.DEFAULT_CONNECT_TIMEOUT);
    // Outermost: while stopping every answer closes its connection, and after the drain delay new calls get 503.
    Drain drain = new Drain(gate, context.lifecycle()::isStopping);
    // Around everything, so every answer of the sidecar's own to a gRPC client is in gRPC's form.
    ExchangeHandler root = new GrpcAnswers(drain);
    ProxyServer server;
    try {
      server = ProxyServer.start(new ProxyServer.Settings(config.proxyBindAddress(), config.proxyPort(), MAX_HEADER_BYTES,
          REQUEST_HEADER_TIMEOUT, IDLE_TIMEOUT), root, loops);
    } catch (RuntimeException e) { // a taken port comes as Netty's BindException
      upstreams.close();
      resolver.close();
      loops.close();
      if (material != null) {
        material.close();
      }
      throw e;
    }
    return new SidecarComponent() {
      @Override
      public Map<String, Integer> ports() {
        return Map.of("proxy", server.port());
      }

      @Override
      public Readiness readiness() {
        return () -> Optional.empty();
      }

      /**
       * Keeps proxying for the drain delay, each answer closing its connection (the app is usually still
       * finishing requests that call out), then tells HTTP/2 clients to go away (GOAWAY), refuses new calls
       * and waits for those in flight.
       */
      @Override
      public void drain(Duration budget) throws Exception {
        long deadline = System.nanoTime() + budget.toNanos();
        Duration half = budget.dividedBy(2);
        Thread.sleep((config.drainDelay().compareTo(half) < 0 ? config.drainDelay() : half).toMillis());
        drain.shutdown();
        Duration remaining = Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime()));
        server.goAway(remaining);
        drain.awaitIdle(remaining);
      }

      @Override
      public void close() throws InterruptedException {
        upstreams.close();
        resolver.close();
        server.close();
        loops.close();
        if (material != null) {
          material.close();
        }
        if (accessLogWriter != null) {
          accessLogWriter.close();
        }
      }
    };
  }
}
