package dev.sidecars.collector.store;

import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Shares one copy of each distinct resource and scope among the items stored under it: a sender repeats
 * the same few in every request, and each copy would cost more memory than the item itself.
 */
public final class Resources {
  static final String UNKNOWN_SERVICE = "unknown_service";
  private static final int MAX_DISTINCT = 10_000;

  private final ConcurrentHashMap<Resource, Resource> resources = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<InstrumentationScope, InstrumentationScope> scopes = new ConcurrentHashMap<>();

  public Resource intern(Resource resource) {
    if (resources.size() > MAX_DISTINCT) {
      resources.clear(); // a sender minting resources per request must not grow this without bound
    }
    return resources.computeIfAbsent(resource, r -> r);
  }

  public InstrumentationScope intern(InstrumentationScope scope) {
    if (scopes.size() > MAX_DISTINCT) {
      scopes.clear();
    }
    return scopes.computeIfAbsent(scope, s -> s);
  }

  public static String serviceName(Resource resource) {
    for (KeyValue kv : resource.getAttributesList()) {
      if (kv.getKey().equals("service.name") && kv.getValue().hasStringValue()) {
        return kv.getValue().getStringValue();
      }
    }
    return UNKNOWN_SERVICE;
  }
}
