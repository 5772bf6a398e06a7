package dev.sidecars.collector.store;

import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.resource.v1.Resource;

/**
 * One item as the collector received it, with the resource and scope it came under.
 *
 * @param <T> a {@code Span}, a {@code LogRecord}, or a {@code Metric} holding exactly one data point
 */
public record Received<T>(Resource resource, InstrumentationScope scope, T item) {
  /** The resource's {@code service.name}, or {@code unknown_service} when it has none. */
  public String service() {
    return Resources.serviceName(resource);
  }
}
