package dev.sidecars.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.metricsproxy.MetricsProxyMain;
import dev.sidecars.runtime.Sidecar;
import dev.sidecars.traceinjector.TraceInjector;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One proxy under test, started in this process as its {@code main} would start it (the real runtime:
 * settings, telemetry, handler chain), in front of a {@link Recorder} standing for what is behind it:
 * metrics-proxy in front of the app, trace-injector in front of an upstream the app calls.
 */
final class Hop implements AutoCloseable {
  /** Which proxy. */
  enum Kind {
    METRICS_PROXY("metrics-proxy"),
    TRACE_INJECTOR("trace-injector");

    final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  private final Kind kind;
  private final Sidecar sidecar;
  private final Recorder next;
  private final RawClient client;
  private final String prefix;
  private final AtomicInteger requests = new AtomicInteger();

  private Hop(Kind kind, Sidecar sidecar, Recorder next, String prefix) {
    this.kind = kind;
    this.sidecar = sidecar;
    this.next = next;
    this.prefix = prefix;
    this.client = new RawClient(port());
  }

  /**
   * Starts {@code kind} with the variables every test shares, then {@code env} (the propagators and
   * where spans go).
   */
  static Hop start(Kind kind, Map<String, String> env) {
    Recorder next = Recorder.start();
    Map<String, String> all = new LinkedHashMap<>();
    all.put("PROXY_PORT", "0");
    all.put("ADMIN_PORT", "0");
    all.put("BIND_ADDRESS", "127.0.0.1");
    all.put("ACCESS_LOG", "off");
    all.put("DRAIN_DELAY", "0s");
    all.put("SHUTDOWN_GRACE", "5s");
    all.put("OTEL_SERVICE_NAME", kind.label);
    all.put("OTEL_TRACES_EXPORTER", "none");
    all.put("OTEL_METRICS_EXPORTER", "none");
    all.put("OTEL_LOGS_EXPORTER", "none");
    all.putAll(env);
    try {
      if (kind == Kind.METRICS_PROXY) {
        all.put("TARGET_URL", next.url());
        return new Hop(kind, Sidecar.start(new MetricsProxyMain(), all), next, "");
      }
      all.put("UPSTREAMS", "app=" + next.url());
      return new Hop(kind, Sidecar.start(new TraceInjector(), all), next, "/app");
    } catch (Exception e) {
      next.close();
      throw new IllegalStateException("could not start " + kind.label, e);
    }
  }

  Kind kind() {
    return kind;
  }

  int port() {
    return sidecar.ports().get("proxy");
  }

  /** The path prefix a request to this proxy needs to reach what is behind it. */
  String prefix() {
    return prefix;
  }

  /** What stands behind this proxy. */
  Recorder next() {
    return next;
  }

  /** The path of the last request {@link #send} sent, as it reached the next hop. */
  String lastPath() {
    return "/probe/" + requests.get();
  }

  /** Sends a request with {@code lines}; it must pass (200); returns what reached the next hop. */
  Forwarded send(List<Line> lines) {
    String path = "/probe/" + requests.incrementAndGet();
    RawClient.Response response = client.get(prefix + path, lines);
    assertThat(response.status()).as("%s answers a request with %s", kind.label, lines).isEqualTo(200);
    return next.seen(path);
  }

  Forwarded send(String... nameValue) {
    return send(Line.lines(nameValue));
  }

  @Override
  public String toString() {
    return kind.label;
  }

  @Override
  public void close() {
    client.close();
    sidecar.close();
    next.close();
  }
}
