package dev.sidecars.bench;

import dev.sidecars.runtime.dns.HostResolver;
import dev.sidecars.runtime.proxy.Endpoint;
import dev.sidecars.runtime.proxy.Forwarder;
import dev.sidecars.runtime.proxy.ProxyEventLoops;
import dev.sidecars.runtime.proxy.ProxyServer;
import dev.sidecars.runtime.proxy.UpstreamClient;
import dev.sidecars.runtime.proxy.UpstreamProtocol;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.undertow.Undertow;
import java.net.URI;
import java.time.Duration;

/**
 * The floor under metrics-proxy's figures in {@code bench/proxy.sh --bare}: the proxies' Netty data plane
 * alone, set up as metrics-proxy sets it up with its defaults (its listener, event loops, buffer allocator,
 * pooled upstream client and forwarder with the upstream timeout), with no decorator of ours around it: no
 * spans, metrics, access log, guard or drain. What this costs is what the data plane's library and its
 * forwarding cost; the difference to metrics-proxy is the decorators'.
 *
 * <p>Reads {@code TARGET_URL}, {@code PROXY_PORT}, {@code ADMIN_PORT} and {@code BIND_ADDRESS} from the
 * environment; the admin port answers 200 on every path, so the benchmark's wait for {@code /readyz}
 * measures the same start-to-ready span.
 */
public final class BareNettyProxy {
  private BareNettyProxy() {}

  public static void main(String[] args) {
    String bind = System.getenv().getOrDefault("BIND_ADDRESS", "127.0.0.1");
    URI target = URI.create(System.getenv("TARGET_URL"));
    // metrics-proxy's defaults: PROXY_IO_THREADS, IDLE_TIMEOUT, REQUEST_HEADER_TIMEOUT, MAX_HEADER_BYTES, UPSTREAM_TIMEOUT.
    int ioThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
    Duration idle = Duration.ofSeconds(60);
    ProxyEventLoops loops = new ProxyEventLoops(ioThreads, "bare-proxy-io");
    UpstreamClient client = new UpstreamClient(loops,
        HostResolver.withDefaults(new SimpleMeterRegistry(), "dns.failures"),
        UpstreamClient.DEFAULT_CONNECT_TIMEOUT, idle);
    Endpoint app = new Endpoint(target.getHost(), target.getPort() < 0 ? 80 : target.getPort());
    ProxyServer.start(
        new ProxyServer.Settings(bind, Integer.parseInt(System.getenv("PROXY_PORT")), 64 * 1024, Duration.ofSeconds(10), idle),
        new Forwarder(client, Forwarder.to(app, UpstreamProtocol.AUTO), Duration.ofSeconds(30)),
        loops);
    Undertow.builder()
        .setIoThreads(1)
        .addHttpListener(Integer.parseInt(System.getenv("ADMIN_PORT")), bind,
            exchange -> exchange.getResponseSender().send("ready\n"))
        .build()
        .start();
  }
}
