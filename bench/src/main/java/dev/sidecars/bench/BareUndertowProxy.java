package dev.sidecars.bench;

import io.undertow.Undertow;
import io.undertow.server.handlers.proxy.LoadBalancingProxyClient;
import io.undertow.server.handlers.proxy.ProxyHandler;
import java.net.URI;
import org.xnio.OptionMap;
import org.xnio.Options;

/**
 * The floor under metrics-proxy's figures in {@code bench/proxy.sh --bare}: Undertow's reverse proxy
 * alone, set up as metrics-proxy sets it up (16 KiB buffers, a keep-alive pool to the app, no retries,
 * {@code TCP_NODELAY} both ways), with no handler of ours around it: no spans, metrics, access log or
 * guards. What this costs is what the chosen proxy library costs; the difference to metrics-proxy is
 * ours.
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
    int ioThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
    LoadBalancingProxyClient client = new LoadBalancingProxyClient()
        .setConnectionsPerThread(1024)
        .setMaxQueueSize(Integer.MAX_VALUE)
        .setProblemServerRetry(1)
        .addHost(target, null, null, OptionMap.create(Options.TCP_NODELAY, true));
    ProxyHandler proxy = ProxyHandler.builder()
        .setProxyClient(client)
        .setMaxConnectionRetries(0)
        .setRewriteHostHeader(false)
        .setReuseXForwarded(true)
        .build();
    Undertow.builder()
        .setIoThreads(ioThreads)
        .setWorkerThreads(ioThreads)
        .setBufferSize(16 * 1024 - 20)
        .setSocketOption(Options.TCP_NODELAY, true)
        .addHttpListener(Integer.parseInt(System.getenv("PROXY_PORT")), bind, proxy)
        .addHttpListener(Integer.parseInt(System.getenv("ADMIN_PORT")), bind,
            exchange -> exchange.getResponseSender().send("ready\n"))
        .build()
        .start();
  }
}
