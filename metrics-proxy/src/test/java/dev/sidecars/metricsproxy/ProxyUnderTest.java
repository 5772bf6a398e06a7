package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.Sidecar;
import dev.sidecars.runtime.SidecarComponent;
import dev.sidecars.runtime.SidecarContext;
import dev.sidecars.runtime.SidecarFactory;
import dev.sidecars.runtime.config.Settings;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/** metrics-proxy started in this test's process, as {@code Sidecar.main} would start it, on free ports. */
final class ProxyUnderTest implements AutoCloseable {
  static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

  final Sidecar sidecar;

  private ProxyUnderTest(Sidecar sidecar) {
    this.sidecar = sidecar;
  }

  /** {@code nameValuePairs} override the defaults: telemetry off, loopback, free ports. */
  static ProxyUnderTest start(Map<String, String> base, String... nameValuePairs) {
    return start(System.out, base, nameValuePairs);
  }

  /** As {@link #start(Map, String...)}, with the access log (when {@code ACCESS_LOG=on}) written to {@code accessLog}. */
  static ProxyUnderTest start(PrintStream accessLog, Map<String, String> base, String... nameValuePairs) {
    return start(accessLog, System::nanoTime, base, nameValuePairs);
  }

  /** As {@link #start(PrintStream, Map, String...)}, the rate limits on {@code nanoTime}, which the test moves. */
  static ProxyUnderTest start(PrintStream accessLog, LongSupplier nanoTime, Map<String, String> base,
      String... nameValuePairs) {
    Map<String, String> env = new HashMap<>();
    env.put("ADMIN_PORT", "0");
    env.put("PROXY_PORT", "0");
    env.put("BIND_ADDRESS", "127.0.0.1");
    env.put("SHUTDOWN_GRACE", "10s");
    env.put("DRAIN_DELAY", "0s");
    env.put("OTEL_TRACES_EXPORTER", "none");
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_LOGS_EXPORTER", "none");
    env.put("ACCESS_LOG", "off");
    env.putAll(base);
    for (int i = 0; i < nameValuePairs.length; i += 2) {
      env.put(nameValuePairs[i], nameValuePairs[i + 1]);
    }
    try {
      MetricsProxyMain main = new MetricsProxyMain();
      return new ProxyUnderTest(Sidecar.start(new SidecarFactory<MetricsProxyConfig>() {
        @Override
        public String name() {
          return main.name();
        }

        @Override
        public int defaultAdminPort() {
          return main.defaultAdminPort();
        }

        @Override
        public MetricsProxyConfig configure(Settings settings) {
          return MetricsProxyConfig.from(settings, nanoTime);
        }

        @Override
        public SidecarComponent start(MetricsProxyConfig config, SidecarContext context) {
          return MetricsProxy.start(config, context, accessLog);
        }
      }, env));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  int port() {
    return sidecar.ports().get("proxy");
  }

  URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
  }

  HttpResponse<String> get(String pathAndQuery) {
    return send(HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    try {
      return CLIENT.send(request, handler);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  HttpResponse<String> admin(String path, String accept) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sidecar.ports().get("admin") + path));
    if (accept != null) {
      b.header("Accept", accept);
    }
    return send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() {
    try {
      sidecar.lifecycle().stop().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
