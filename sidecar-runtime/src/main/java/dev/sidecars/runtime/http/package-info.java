/**
 * Building blocks of a transparent, observed HTTP proxy hop, whatever carries the bytes: {@link
 * dev.sidecars.runtime.http.HttpTelemetry} (one span, the metrics and one access-log line per exchange),
 * {@link dev.sidecars.runtime.http.HttpMetrics}, {@link dev.sidecars.runtime.http.AccessLog}, {@link
 * dev.sidecars.runtime.http.RouteTemplates}, {@link dev.sidecars.runtime.http.CircuitBreaker}, {@link
 * dev.sidecars.runtime.http.ConcurrencyLimit} and {@link dev.sidecars.runtime.http.ResponseFlag}, which says,
 * like Envoy's response flags, why the proxy answered itself. Both proxies run on the Netty data plane of
 * {@code dev.sidecars.runtime.proxy}, whose decorators use these. For exemplars, build the Prometheus
 * registry with {@link dev.sidecars.runtime.http.TraceExemplars}.
 */
package dev.sidecars.runtime.http;
