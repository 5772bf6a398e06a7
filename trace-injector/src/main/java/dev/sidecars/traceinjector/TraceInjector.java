package dev.sidecars.traceinjector;

import dev.sidecars.runtime.SidecarComponent;
import dev.sidecars.runtime.SidecarContext;
import dev.sidecars.runtime.SidecarFactory;
import dev.sidecars.runtime.admin.Readiness;
import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.http.AccessLog;
import dev.sidecars.runtime.http.AccessLogWriter;
import dev.sidecars.runtime.http.CloseWhileStopping;
import dev.sidecars.runtime.http.HttpMetrics;
import dev.sidecars.runtime.http.HttpTelemetryHandler;
import dev.sidecars.runtime.http.ObservedProxyClient;
import dev.sidecars.runtime.http.RouteTemplates;
import dev.sidecars.traceinjector.egress.ConnectGate;
import dev.sidecars.traceinjector.egress.EgressResolution;
import dev.sidecars.traceinjector.egress.HostResolver;
import dev.sidecars.traceinjector.egress.RoutingHandler;
import dev.sidecars.traceinjector.routing.Router;
import dev.sidecars.traceinjector.upstream.Upstreams;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import io.undertow.server.handlers.GracefulShutdownHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;

/**
 * The trace-injector sidecar: an egress HTTP proxy on {@code PROXY_PORT} that gives every outbound call
 * a CLIENT span and correct trace context in every configured format. {@code CONNECT} is tunnelled as is,
 * to the destinations {@code EGRESS_ALLOW} allows.
 */
public final class TraceInjector implements SidecarFactory<TraceInjectorConfig> {
  /** The admin port when {@code ADMIN_PORT} is unset. */
  public static final int DEFAULT_ADMIN_PORT = 15091;

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
    Upstreams upstreams = new Upstreams(config.upstreams(), config.policy(), context.meters(), nanoClock, jitter, random);
    AccessLogWriter<AccessLog.Entry> accessLogWriter = config.accessLog() ? AccessLogWriter.counted(System.out, context.meters()) : null;
    TraceInjectorConfig.Dns dns = config.dns();
    HostResolver resolver = new HostResolver(lookup, dns.threads(), dns.queue(), dns.ttl(), dns.negativeTtl(), nanoClock,
        context.meters());
    EgressResolution egress = new EgressResolution(config.egress(), resolver, config.policy()::timeoutFor, context.meters());
    HttpHandler routing = new RoutingHandler(new Router(config.ownNames()), upstreams, egress,
        RoutingHandler.randomRequestIds(), RoutingHandler.randomPseudonym());
    HttpHandler observed = new HttpTelemetryHandler(
        routing,
        context.telemetry().tracer(),
        context.telemetry().propagation(),
        new HttpMetrics(context.meters(), HttpMetrics.Side.CLIENT, config.seriesLimit()),
        RouteTemplates.none(),
        accessLogWriter != null ? AccessLog.entriesTo(accessLogWriter) : AccessLog.off());
    // An allowed CONNECT is tunnelled before anything else looks at it: no span, no headers, bytes as they are.
    GracefulShutdownHandler graceful = new GracefulShutdownHandler(new ConnectGate(observed, egress));
    HttpHandler root = new CloseWhileStopping(graceful, context.lifecycle()::isStopping);
    Undertow server = Undertow.builder()
        .setBufferSize(ObservedProxyClient.BUFFER_BYTES)
        .addHttpListener(config.proxyPort(), config.proxyBindAddress())
        .setServerOption(UndertowOptions.ALLOW_UNESCAPED_CHARACTERS_IN_URL, true)
        // With unescaped characters allowed Undertow would decode the request target that is relayed.
        .setServerOption(UndertowOptions.DECODE_URL, false)
        // Bodies stream through; Undertow's default cap (2 MiB) is for servers that buffer them.
        .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, Long.MAX_VALUE)
        .setHandler(root)
        .build();
    try {
      server.start();
    } catch (RuntimeException e) {
      upstreams.close();
      resolver.close();
      throw e;
    }
    int port = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
    return new SidecarComponent() {
      @Override
      public Map<String, Integer> ports() {
        return Map.of("proxy", port);
      }

      @Override
      public Readiness readiness() {
        return () -> Optional.empty();
      }

      /**
       * Keeps proxying for the drain delay, each answer closing its connection (the app is usually still
       * finishing requests that call out), then refuses new calls and waits for those in flight.
       */
      @Override
      public void drain(Duration budget) throws Exception {
        long deadline = System.nanoTime() + budget.toNanos();
        Duration half = budget.dividedBy(2);
        Thread.sleep((config.drainDelay().compareTo(half) < 0 ? config.drainDelay() : half).toMillis());
        graceful.shutdown();
        graceful.awaitShutdown(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      }

      @Override
      public void close() throws InterruptedException {
        upstreams.close();
        resolver.close();
        server.stop();
        if (accessLogWriter != null) {
          accessLogWriter.close();
        }
      }
    };
  }
}
