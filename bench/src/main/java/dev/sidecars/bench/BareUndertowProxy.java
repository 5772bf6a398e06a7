package dev.sidecars.bench;

import dev.sidecars.runtime.http.ObservedProxyClient;
import io.undertow.Undertow;
import io.undertow.server.handlers.proxy.LoadBalancingProxyClient;
import io.undertow.server.handlers.proxy.ProxyHandler;
import java.net.URI;
import org.xnio.Options;

/**
 * The floor under metrics-proxy's figures in {@code bench/proxy.sh --bare}: Undertow's reverse proxy
 * alone, set up as metrics-proxy sets it up (its buffer size, pool and upstream options from {@link
 * ObservedProxyClient}, its default thread counts, no retries, {@code TCP_NODELAY} both ways), with no
 * handler of ours around it: no spans, metrics, access log or guards, and not our observing wrapper of
 * the pool. Nor does it set metrics-proxy's server timeouts and limits, whose timers cost a little per
 * request, so the floor is if anything slightly low. What this costs is what the chosen proxy library
 * costs; the difference to metrics-proxy is ours.
 *
 * <p>Reads {@code TARGET_URL}, {@code PROXY_PORT}, {@code ADMIN_PORT} and {@code BIND_ADDRESS} from the
 * environment; the admin port answers 200 on every path, so the benchmark's wait for {@code /readyz}
 * measures the same start-to-ready span.
 */
public final class BareUndertowProxy {
  private BareUndertowProxy() {}

  public static void main(String[] args) throws Exception {
    String bind = System.getenv().getOrDefault("BIND_ADDRESS", "127.0.0.1");
    URI target = URI.create(System.getenv("TARGET_URL"));
    // metrics-proxy's defaults: PROXY_IO_THREADS and, without MAX_CONCURRENT_REQUESTS, the pool's ceiling.
    int ioThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
    LoadBalancingProxyClient client = ObservedProxyClient.pooledClient(1024, 0)
        .addHost(target, null, null, ObservedProxyClient.UPSTREAM_OPTIONS);
    ProxyHandler proxy = ProxyHandler.builder()
        .setProxyClient(client)
        .setMaxConnectionRetries(0)
        .setRewriteHostHeader(false)
        .setReuseXForwarded(true)
        .build();
    Undertow.builder()
        .setIoThreads(ioThreads)
        .setWorkerThreads(Math.max(2, ioThreads))
        .setBufferSize(ObservedProxyClient.BUFFER_BYTES)
        .setSocketOption(Options.TCP_NODELAY, true)
        .addHttpListener(Integer.parseInt(System.getenv("PROXY_PORT")), bind, proxy)
        .addHttpListener(Integer.parseInt(System.getenv("ADMIN_PORT")), bind,
            exchange -> exchange.getResponseSender().send("ready\n"))
        .build()
        .start();
  }
}
