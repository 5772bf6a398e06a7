/**
 * The proxies' data plane on Netty: one listener for HTTP/1.1 and cleartext HTTP/2, a pooled client to
 * upstreams, and a chain of decorators around a forwarder, where an HTTP/1.1 exchange and an HTTP/2
 * stream look the same. A proxy composes it outside-in:
 *
 * <pre>{@code
 * ProxyEventLoops loops = new ProxyEventLoops(ioThreads, "my-proxy-io");
 * HostResolver resolver = HostResolver.withDefaults(meters, "dns.failures"); // names looked up off the loops
 * UpstreamClient client = new UpstreamClient(loops, resolver, UpstreamClient.DEFAULT_CONNECT_TIMEOUT, idleTimeout);
 * ExchangeHandler forward = new Forwarder(client, Forwarder.to(new Endpoint(host, port), UpstreamProtocol.AUTO),
 *     upstreamTimeout);
 * ExchangeHandler deadline = new GrpcDeadline(forward, upstreamTimeout);
 * ExchangeHandler guarded = new ExchangeGuard(deadline, breaker, limit, new ExchangeGuard.Limits(...));
 * ExchangeHandler observed = new TelemetryHandler(guarded,
 *     new HttpTelemetry(tracer, propagation, metrics, rpcMetrics, routes, log));
 * Drain drain = new Drain(observed, lifecycle::isStopping);
 * ProxyServer server = ProxyServer.start(new ProxyServer.Settings(...), new GrpcAnswers(drain), loops,
 *     serverTls); // serverTls may be null
 * }</pre>
 *
 * <ul>
 *   <li>{@link dev.sidecars.runtime.proxy.ProxyExchange} is what a decorator sees: the request head
 *       (mutable until forwarded), protocol version, client address, the outcome ({@code ResponseFlag},
 *       upstream time, target), hooks on the response head, the request body and the end, and the
 *       proxy's own answers ({@code respond}, {@code fail}). Everything runs on the exchange's event loop.
 *   <li>{@link dev.sidecars.runtime.proxy.Forwarder} ends the chain. Its {@link
 *       dev.sidecars.runtime.proxy.Forwarder.Router} picks the {@link dev.sidecars.runtime.proxy.Endpoint}
 *       and {@link dev.sidecars.runtime.proxy.UpstreamProtocol} per exchange: an egress proxy routes by
 *       path prefix, {@code Host} or absolute form there, balances among endpoints (one {@code
 *       Endpoint} each; the client pools per endpoint and event loop), answers refusals itself
 *       (return {@code null} after {@code exchange.respond}) and may retry what failed before the client saw
 *       an answer ({@code Router.retry}). {@link dev.sidecars.runtime.proxy.Tunnel} opens a {@code CONNECT}
 *       tunnel.
 *   <li>Decorators go around it. For gRPC: {@link dev.sidecars.runtime.proxy.GrpcAnswers} (outermost: a
 *       response-head listener turning every answer of the proxy's own into {@code 200} + {@code
 *       grpc-status}), {@link dev.sidecars.runtime.proxy.GrpcDeadline} ({@code grpc-timeout}: a timer on
 *       {@code eventLoop()} calling {@code fail}); {@link dev.sidecars.runtime.proxy.TelemetryHandler}
 *       records a gRPC request as an RPC (the {@code grpc-status} of the trailers or of a trailers-only head).
 *       Both proxies use the same ones (an egress proxy on the client side).
 *   <li>TLS: {@code ProxyServer.start(settings, root, loops, serverTls)} puts a {@link
 *       dev.sidecars.runtime.tls.ServerTls} first in each connection's pipeline, before the cleartext
 *       switch; once the handshake (ALPN) or permissive detection has decided, the same HTTP/1.1 or HTTP/2
 *       handlers go in, and {@link dev.sidecars.runtime.proxy.ProxyExchange#tls()} names the peer. For
 *       upstreams, {@link dev.sidecars.runtime.tls.UpstreamTls#initChannel} goes into the upstream pool's
 *       connect, before the HTTP handlers (not wired in yet).
 * </ul>
 */
package dev.sidecars.runtime.proxy;
