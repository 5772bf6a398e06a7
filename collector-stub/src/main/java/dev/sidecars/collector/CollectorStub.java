package dev.sidecars.collector;

import dev.sidecars.collector.faults.Fault;
import dev.sidecars.collector.faults.FaultPlan;
import dev.sidecars.collector.ingest.Ingest;
import dev.sidecars.collector.ingest.IngestStats;
import dev.sidecars.collector.ingest.OtlpGrpcReceiver;
import dev.sidecars.collector.ingest.OtlpHttpReceiver;
import dev.sidecars.collector.query.QueryApi;
import dev.sidecars.collector.store.TelemetryStore;
import io.grpc.ServerServiceDefinition;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A running collector-stub: OTLP/HTTP and OTLP/gRPC receivers feeding one bounded store, and the query
 * API with the web UI. Start one per test on free ports, or run {@link CollectorStubMain}.
 */
public final class CollectorStub implements AutoCloseable {
  private final CollectorStubConfig config;
  private final TelemetryStore store;
  private final FaultPlan faults;
  private final IngestStats stats;
  private final Undertow http;
  private final Server grpc;
  private final int otlpHttpPort;
  private final int uiPort;

  private CollectorStub(CollectorStubConfig config, TelemetryStore store, FaultPlan faults, IngestStats stats,
      Undertow http, Server grpc) {
    this.config = config;
    this.store = store;
    this.faults = faults;
    this.stats = stats;
    this.http = http;
    this.grpc = grpc;
    this.otlpHttpPort = ((InetSocketAddress) http.getListenerInfo().get(0).getAddress()).getPort();
    this.uiPort = ((InetSocketAddress) http.getListenerInfo().get(1).getAddress()).getPort();
  }

  public static CollectorStub start(CollectorStubConfig config) {
    TelemetryStore store = new TelemetryStore(config.maxSpans(), config.maxLogs(), config.maxPoints());
    FaultPlan faults = new FaultPlan();
    IngestStats stats = new IngestStats();
    Ingest ingest = new Ingest(store, faults, stats);

    Undertow http = Undertow.builder()
        .setServerOption(UndertowOptions.ALWAYS_SET_KEEP_ALIVE, false)
        // Undertow's own cap (2 MiB by default) refused valid exports far below STUB_MAX_BODY_BYTES. It stays
        // as a backstop just above that limit: the receiver counts bodies itself and answers 413, while
        // Undertow's check, failing a chunked body's read, closes the connection without an answer.
        .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, config.maxBodyBytes() + (1 << 20))
        .addListener(new Undertow.ListenerBuilder()
            .setType(Undertow.ListenerType.HTTP).setHost(config.bindAddress()).setPort(config.otlpHttpPort())
            .setRootHandler(new OtlpHttpReceiver(ingest, config.maxBodyBytes(), config.corsAllowedOrigins(),
                config.maxConcurrentDecodes())))
        .addListener(new Undertow.ListenerBuilder()
            .setType(Undertow.ListenerType.HTTP).setHost(config.bindAddress()).setPort(config.uiPort())
            .setRootHandler(new QueryApi(store, faults, stats)))
        .build();
    http.start();

    NettyServerBuilder grpcBuilder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.bindAddress(), config.otlpGrpcPort()))
        .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, config.maxBodyBytes()));
    for (ServerServiceDefinition service : OtlpGrpcReceiver.services(ingest)) {
      grpcBuilder.addService(service);
    }
    Server grpc;
    try {
      grpc = grpcBuilder.build().start();
    } catch (IOException e) {
      http.stop();
      throw new UncheckedIOException("cannot listen for OTLP/gRPC on port " + config.otlpGrpcPort(), e);
    }
    return new CollectorStub(config, store, faults, stats, http, grpc);
  }

  public CollectorStubConfig config() {
    return config;
  }

  /** The ports, by name, as the start line prints them. */
  public Map<String, Integer> ports() {
    Map<String, Integer> ports = new LinkedHashMap<>();
    ports.put("otlp-http", otlpHttpPort);
    ports.put("otlp-grpc", grpc.getPort());
    ports.put("ui", uiPort);
    return ports;
  }

  private String host() {
    String bind = config.bindAddress();
    return bind.equals("0.0.0.0") || bind.equals("::") ? "127.0.0.1" : bind;
  }

  /** Base URL of OTLP/HTTP, without the signal path: what {@code OTEL_EXPORTER_OTLP_ENDPOINT} takes. */
  public String otlpHttpUrl() {
    return "http://" + host() + ":" + otlpHttpPort;
  }

  /** URL of OTLP/gRPC, as an SDK's gRPC exporter takes it. */
  public String otlpGrpcUrl() {
    return "http://" + host() + ":" + grpc.getPort();
  }

  /** Base URL of the web UI and the query API. */
  public String uiUrl() {
    return "http://" + host() + ":" + uiPort;
  }

  public TelemetryStore store() {
    return store;
  }

  public IngestStats stats() {
    return stats;
  }

  public FaultPlan faults() {
    return faults;
  }

  /** Scripts a fault; a shortcut for {@code faults().add(fault)}. */
  public FaultPlan.Pending inject(Fault fault) {
    return faults.add(fault);
  }

  /** Empties the store and clears pending faults; the counters since start stay. */
  public void reset() {
    store.clear();
    faults.clear();
  }

  /** Stops taking requests, lets those in flight finish within {@code budget}, then closes. */
  public void stop(Duration budget) {
    grpc.shutdown();
    try {
      grpc.awaitTermination(Math.max(1, budget.toMillis()), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    grpc.shutdownNow();
    http.stop();
  }

  @Override
  public void close() {
    stop(Duration.ofSeconds(2));
  }
}
