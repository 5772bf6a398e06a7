package dev.sidecars.collector.junit5;

import static org.awaitility.Awaitility.await;

import dev.sidecars.collector.CollectorStub;
import dev.sidecars.collector.CollectorStubConfig;
import dev.sidecars.collector.Signal;
import dev.sidecars.collector.faults.Fault;
import dev.sidecars.collector.faults.FaultPlan;
import dev.sidecars.collector.ingest.IngestStats;
import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.trace.v1.Span;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Runs an in-process collector-stub on free loopback ports for a test class (as a {@code static}
 * {@code @RegisterExtension} field) or for each test (as an instance field), and gives tests what they
 * need to assert on telemetry without mocks or sleeps: the environment that points a sidecar at it,
 * waits such as "N spans of service S", and fault scripting.
 *
 * <pre>{@code
 * @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();
 *
 * List<Received<Span>> spans = collector.awaitSpans("payment", 3);
 * collector.throttle(Signal.LOGS, 503, 1, 2);
 * }</pre>
 *
 * <p>Between tests of a class the store is emptied and pending faults are cleared.
 */
public final class CollectorStubExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {
  private static final int ALL = Integer.MAX_VALUE;

  private final CollectorStubConfig config;
  private Duration timeout = Duration.ofSeconds(20);
  private CollectorStub stub;
  private boolean perClass;

  public CollectorStubExtension() {
    this(UnaryOperator.identity());
  }

  /** With changes to the default test config (free loopback ports), e.g. {@code b -> b.maxSpans(100)}. */
  public CollectorStubExtension(UnaryOperator<CollectorStubConfig.Builder> customize) {
    this.config = customize.apply(CollectorStubConfig.builder().freePorts()).build();
  }

  /** How long the waits wait before failing; 20 seconds unless changed. */
  public CollectorStubExtension timeout(Duration timeout) {
    this.timeout = timeout;
    return this;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    perClass = true;
    stub = CollectorStub.start(config);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (stub == null) {
      stub = CollectorStub.start(config);
    } else {
      stub.reset();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (!perClass) {
      close();
    }
  }

  private void close() {
    if (stub != null) {
      stub.close();
      stub = null;
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == CollectorStub.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return stub();
  }

  public CollectorStub stub() {
    if (stub == null) {
      throw new IllegalStateException("the collector-stub runs only while a test does");
    }
    return stub;
  }

  public String otlpHttpUrl() {
    return stub().otlpHttpUrl();
  }

  public String otlpGrpcUrl() {
    return stub().otlpGrpcUrl();
  }

  public String uiUrl() {
    return stub().uiUrl();
  }

  /**
   * The {@code OTEL_*} variables that point a sidecar's SDK at this stub over OTLP/HTTP, with short
   * export intervals so tests see telemetry quickly.
   */
  public Map<String, String> otelEnvironment() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("OTEL_EXPORTER_OTLP_ENDPOINT", otlpHttpUrl());
    env.put("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    env.put("OTEL_METRIC_EXPORT_INTERVAL", "500");
    env.put("OTEL_BSP_SCHEDULE_DELAY", "100");
    env.put("OTEL_BLRP_SCHEDULE_DELAY", "100");
    return env;
  }

  public IngestStats stats() {
    return stub().stats();
  }

  /** Spans of {@code service} received so far (all services when null), oldest first. */
  public List<Received<Span>> spans(String service) {
    return stub().store().spans().spans(service, ALL);
  }

  public List<Received<LogRecord>> logs(String service) {
    return stub().store().logs().newest(service, null, ALL);
  }

  /** Points of metric {@code name} from {@code service}, each as a {@code Metric} with one point. */
  public List<Received<Metric>> metricPoints(String service, String name) {
    return stub().store().metricPoints().newest(service, name, ALL);
  }

  /** Waits until at least {@code count} spans of {@code service} arrived; returns all of them. */
  public List<Received<Span>> awaitSpans(String service, int count) {
    return awaitSpans(service, spans -> spans.size() >= count, "at least " + count + " spans of " + service);
  }

  /** Waits until the spans of {@code service} satisfy {@code condition}; returns them. */
  public List<Received<Span>> awaitSpans(String service, Predicate<List<Received<Span>>> condition, String what) {
    return awaitValue(() -> spans(service), condition, what);
  }

  /** Waits until trace {@code traceIdHex} holds at least {@code count} spans; returns them. */
  public List<Received<Span>> awaitTrace(String traceIdHex, int count) {
    TraceId id = TraceId.parse(traceIdHex).orElseThrow(() -> new IllegalArgumentException("not a trace id: " + traceIdHex));
    return awaitValue(() -> stub().store().spans().trace(id).orElse(List.of()), spans -> spans.size() >= count,
        count + " spans of trace " + traceIdHex);
  }

  public List<Received<LogRecord>> awaitLogs(String service, int count) {
    return awaitLogs(service, logs -> logs.size() >= count, "at least " + count + " logs of " + service);
  }

  public List<Received<LogRecord>> awaitLogs(String service, Predicate<List<Received<LogRecord>>> condition, String what) {
    return awaitValue(() -> logs(service), condition, what);
  }

  /** Waits until at least one point of metric {@code name} from {@code service} arrived; returns all. */
  public List<Received<Metric>> awaitMetric(String service, String name) {
    return awaitMetric(service, name, points -> !points.isEmpty());
  }

  public List<Received<Metric>> awaitMetric(String service, String name, Predicate<List<Received<Metric>>> condition) {
    return awaitValue(() -> metricPoints(service, name), condition, "metric " + name + " of " + service);
  }

  private <T> T awaitValue(java.util.concurrent.Callable<T> supplier, Predicate<T> condition, String what) {
    return await(what).atMost(timeout).pollInterval(Duration.ofMillis(50)).until(supplier, condition::test);
  }

  /** The next {@code times} requests of {@code signal} (all when null) are answered {@code status}. */
  public FaultPlan.Pending fail(Signal signal, int status, int times) {
    return stub().inject(Fault.status(signal, status, times));
  }

  /** Like {@link #fail} with a {@code Retry-After} (gRPC: {@code RetryInfo}) of {@code retryAfterSeconds}. */
  public FaultPlan.Pending throttle(Signal signal, int status, int retryAfterSeconds, int times) {
    return stub().inject(Fault.throttle(signal, status, retryAfterSeconds, times));
  }

  /** The next {@code times} requests of {@code signal} store all but {@code items} and answer partial success. */
  public FaultPlan.Pending rejectPartially(Signal signal, int items, int times) {
    return stub().inject(Fault.partial(signal, items, times));
  }
}
