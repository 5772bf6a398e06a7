package dev.sidecars.traceinjector.upstream;

import dev.sidecars.runtime.http.ConcurrencyLimit;
import dev.sidecars.runtime.proxy.Endpoint;
import dev.sidecars.runtime.proxy.UpstreamClient;
import dev.sidecars.runtime.proxy.UpstreamProtocol;
import dev.sidecars.runtime.tls.HandshakeFailures;
import dev.sidecars.runtime.tls.UpstreamTls;
import dev.sidecars.runtime.tls.UpstreamTlsConfig;
import dev.sidecars.traceinjector.routing.Destination;
import dev.sidecars.traceinjector.routing.UpstreamTable;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.DoubleSupplier;
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;

/**
 * Every upstream the sidecar calls: those of {@code UPSTREAMS}, made at start, and hosts reached by DNS,
 * made on first use for the address their name resolved to and kept in a bounded least-recently-used set,
 * so neither memory nor metric series grow with the number of distinct names an app calls. Resolving the
 * name is the caller's ({@code HostResolver}), and the names of {@code UPSTREAMS} are looked up by the client
 * when it connects (the same resolver, off the event loops): nothing here looks a name up.
 */
public final class Upstreams implements AutoCloseable {
  private final UpstreamPolicy policy;
  private final UpstreamClient client;
  private final MeterRegistry registry;
  private final LongSupplier nanoClock;
  private final DoubleSupplier jitter;
  private final IntUnaryOperator random;
  private final ConcurrencyLimit limit;
  private final UpstreamTls tls;
  private final Map<String, Upstream> listed = new LinkedHashMap<>();
  private final LinkedHashMap<String, Upstream> dynamic = new LinkedHashMap<>(16, 0.75f, true);

  /** Without TLS: {@code https://} URLs verified against the JDK's trust store, plain calls left plain. */
  public Upstreams(
      UpstreamTable table,
      UpstreamPolicy policy,
      UpstreamClient client,
      MeterRegistry registry,
      LongSupplier nanoClock,
      DoubleSupplier jitter,
      IntUnaryOperator random) {
    this(table, policy, client, UpstreamTls.create(UpstreamTlsConfig.Mode.OFF, null,
        new HandshakeFailures(registry, System::nanoTime), Duration.ofSeconds(10)), registry, nanoClock, jitter, random);
  }

  /**
   * @param tls the TLS of {@code https://} URLs, and of the {@code http://} URLs of {@code UPSTREAMS} when it
   *     upgrades them ({@code UPSTREAM_TLS})
   */
  public Upstreams(
      UpstreamTable table,
      UpstreamPolicy policy,
      UpstreamClient client,
      UpstreamTls tls,
      MeterRegistry registry,
      LongSupplier nanoClock,
      DoubleSupplier jitter,
      IntUnaryOperator random) {
    this.tls = tls;
    this.policy = policy;
    this.client = client;
    this.registry = registry;
    this.nanoClock = nanoClock;
    this.jitter = jitter;
    this.random = random;
    this.limit = policy.maxConcurrentRequests() > 0 ? new ConcurrencyLimit(policy.maxConcurrentRequests()) : null;
    table.services().forEach((name, urls) -> listed.put(name, create(name, urls, null, table.protocol(name),
        url -> listedTls(url, table.protocol(name), table.identities(name)))));
  }

  private Upstream create(String name, List<URI> urls, String authority, UpstreamProtocol protocol,
      Function<URI, Endpoint.Tls> endpointTls) {
    return new Upstream(name, urls, authority, protocol, endpointTls, policy, client, limit, registry, nanoClock, jitter,
        random);
  }

  /**
   * TLS for a URL of {@code UPSTREAMS}: always for {@code https://}, for {@code http://} when {@code UPSTREAM_TLS}
   * says so. Calls to hosts not listed leave as the app made them: a sidecar cannot know which of them speak TLS.
   */
  private Endpoint.Tls listedTls(URI url, UpstreamProtocol protocol, Set<String> identities) {
    boolean https = "https".equalsIgnoreCase(url.getScheme());
    if (!https && !tls.upgradesPlainUpstreams()) {
      return null;
    }
    String host = url.getHost().startsWith("[") ? url.getHost().substring(1, url.getHost().length() - 1) : url.getHost();
    return new Endpoint.Tls(tls, new UpstreamTls.Destination(host, url.getPort(), identities, alpn(protocol)));
  }

  /** The ALPN offer: {@code http1} only http/1.1, {@code h2c} only h2, {@code auto} both (the server chooses). */
  static List<String> alpn(UpstreamProtocol protocol) {
    return switch (protocol) {
      case HTTP1 -> List.of("http/1.1");
      case H2C -> List.of("h2");
      case AUTO -> List.of("h2", "http/1.1");
    };
  }

  /** The upstream of an {@code UPSTREAMS} name (any case), if listed. */
  public Optional<Upstream> listed(String service) {
    return Optional.ofNullable(listed.get(service.toLowerCase(Locale.ROOT)));
  }

  /**
   * The upstream for a host that is not listed, at the address it resolved to: made on first use, and made
   * again when the name comes to resolve elsewhere (its old connections are let go of).
   */
  public Upstream dynamic(Destination destination, InetAddress address) {
    String key = destination.port() == 80 ? destination.service() : destination.service() + ":" + destination.port();
    List<Upstream> retired = new ArrayList<>(2);
    Upstream upstream;
    synchronized (dynamic) {
      upstream = dynamic.get(key);
      if (upstream != null && !upstream.firstUrl().getHost().equals(hostOf(address))) {
        dynamic.remove(key);
        upstream.removeMeters(); // before the new one registers the same series
        retired.add(upstream);
        upstream = null;
      }
      if (upstream == null) {
        URI uri;
        try {
          uri = new URI("http", null, hostOf(address), destination.port(), null, null, null);
        } catch (URISyntaxException e) {
          throw new IllegalArgumentException(e);
        }
        upstream = create(key, List.of(uri), destination.service() + ":" + destination.port(), UpstreamProtocol.AUTO,
            url -> null);
        dynamic.put(key, upstream);
        if (dynamic.size() > policy.maxDynamicUpstreams()) {
          var eldest = dynamic.entrySet().iterator().next();
          dynamic.remove(eldest.getKey());
          eldest.getValue().removeMeters();
          retired.add(eldest.getValue());
        }
      }
    }
    retired.forEach(Upstream::closeConnections);
    return upstream;
  }

  /** The address as a URI host: IPv6 in brackets. */
  private static String hostOf(InetAddress address) {
    String host = address.getHostAddress();
    return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
  }

  @Override
  public void close() {
    List<Upstream> all = new ArrayList<>(listed.values());
    synchronized (dynamic) {
      all.addAll(dynamic.values());
      dynamic.clear();
    }
    all.forEach(Upstream::close);
  }
}
