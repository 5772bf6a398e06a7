/**
 * Token-bucket rate limits per route template and optionally per peer identity ({@code RATE_LIMITS}):
 * {@link dev.sidecars.runtime.ratelimit.RateLimits} answers each request with a {@link
 * dev.sidecars.runtime.ratelimit.RateLimitDecision}, from which the proxy makes a 429 with {@code
 * Retry-After} (or gRPC {@code RESOURCE_EXHAUSTED}).
 */
package dev.sidecars.runtime.ratelimit;
