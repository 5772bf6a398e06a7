/**
 * Building blocks of a transparent, observed HTTP proxy hop. {@link dev.sidecars.runtime.http.HttpTelemetry},
 * {@link dev.sidecars.runtime.http.HttpMetrics}, {@link dev.sidecars.runtime.http.AccessLog}, {@link
 * dev.sidecars.runtime.http.CircuitBreaker}, {@link dev.sidecars.runtime.http.ConcurrencyLimit} and {@link
 * dev.sidecars.runtime.http.ResponseFlag} serve both proxies, whatever their data plane: metrics-proxy runs
 * on the Netty data plane of {@code dev.sidecars.runtime.proxy}.
 *
 * <p>The rest wraps Undertow's own {@code ProxyHandler} and pooled {@code LoadBalancingProxyClient}, as
 * trace-injector still does until it moves to the Netty data plane. A proxy composes them outside-in:
 *
 * <pre>{@code
 * ProxyHandler proxy = ProxyHandler.builder()
 *     .setProxyClient(new ObservedProxyClient(ObservedProxyClient.pooledClient(connectionsPerThread, maxWaiting)
 *         .addHost(targetUri, null, null, ObservedProxyClient.UPSTREAM_OPTIONS)))
 *     .setMaxRequestTime(upstreamTimeoutMillis).setMaxConnectionRetries(0).build();
 * HttpHandler guarded = new UpstreamGuard(proxy,
 *     new CircuitBreaker(5, Duration.ofSeconds(5), System::nanoTime), new ConcurrencyLimit(max),
 *     new UpstreamGuard.Limits(maxHeaderBytes, maxRequestBytes, bodyTimeout));
 * HttpHandler root = new HttpTelemetryHandler(guarded, telemetry.tracer(), telemetry.propagation(),
 *     new HttpMetrics(meterRegistry, HttpMetrics.Side.SERVER, HttpMetrics.DEFAULT_SERIES_LIMIT),
 *     RouteTemplates.parse(routes), AccessLog.to(System.out::println));
 * }</pre>
 *
 * <ul>
 *   <li>{@link dev.sidecars.runtime.http.HttpTelemetryHandler} (outermost, so it also sees what inner
 *       handlers refuse): one span per exchange continuing the incoming context and injecting its own,
 *       {@link dev.sidecars.runtime.http.HttpMetrics}, one {@link dev.sidecars.runtime.http.AccessLog} line.
 *       Side {@code SERVER} gives SERVER spans and {@code http_server_*} metrics labelled by
 *       {@link dev.sidecars.runtime.http.RouteTemplates}; side {@code CLIENT} gives CLIENT spans and
 *       {@code http_client_*} metrics labelled by the {@code server.address} an inner handler sets with
 *       {@link dev.sidecars.runtime.http.ExchangeOutcome#target(String)}.
 *   <li>{@link dev.sidecars.runtime.http.UpstreamGuard}: smuggling 400, body limit 413, {@link
 *       dev.sidecars.runtime.http.ConcurrencyLimit} and {@link dev.sidecars.runtime.http.CircuitBreaker} 503s,
 *       hop-by-hop headers, and the proxy's own failures as 502 (refused, reset) or 504 (timeout).
 *   <li>{@link dev.sidecars.runtime.http.ObservedProxyClient}: wraps the pooled client so the outcome
 *       knows whether the upstream was reached and answered.
 * </ul>
 *
 * Handlers talk to each other only through the {@link dev.sidecars.runtime.http.ExchangeOutcome}
 * attached to the exchange, whose {@link dev.sidecars.runtime.http.ResponseFlag} says, like Envoy's
 * response flags, why the proxy answered itself. Undertow's server defaults need two changes for a proxy:
 * set {@code UndertowOptions.MAX_ENTITY_SIZE} to -1 (2 MiB by default; the guard enforces the body limit) and set {@code MAX_HEADER_SIZE} above
 * the {@link dev.sidecars.runtime.http.UpstreamGuard.Limits} header limit (Undertow answers 400 at its own). For exemplars, build the Prometheus registry with
 * {@link dev.sidecars.runtime.http.TraceExemplars}. An egress proxy with several upstreams keeps one
 * {@code ObservedProxyClient}-wrapped client and one {@code CircuitBreaker} per upstream.
 */
package dev.sidecars.runtime.http;
