package dev.sidecars.chart;

import io.fabric8.kubernetes.api.model.KubernetesResource;
import java.lang.reflect.Method;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Refuses fabric8 model objects that carry fields the Kubernetes API does not define. The model keeps such
 * fields in {@code additionalProperties} instead of failing, so this walks the parsed object graph and
 * fails on the first non-empty one, naming where it is.
 */
final class StrictModel {
  private StrictModel() {}

  static void requireNoUnknownFields(Object model, String where) {
    walk(model, where, java.util.Collections.newSetFromMap(new IdentityHashMap<>()));
  }

  private static void walk(Object value, String path, Set<Object> seen) {
    if (value == null || !seen.add(value)) {
      return;
    }
    if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> walk(v, path + "." + k, seen));
      return;
    }
    if (value instanceof Collection<?> items) {
      int i = 0;
      for (Object item : items) {
        walk(item, path + "[" + i++ + "]", seen);
      }
      return;
    }
    if (!(value instanceof KubernetesResource)) {
      return;
    }
    for (Method getter : value.getClass().getMethods()) {
      if (getter.getParameterCount() != 0 || !getter.getName().startsWith("get")
          || getter.getDeclaringClass() == Object.class) {
        continue;
      }
      Object child = invoke(getter, value);
      if (getter.getName().equals("getAdditionalProperties")) {
        if (child instanceof Map<?, ?> extra && !extra.isEmpty()) {
          throw new IllegalArgumentException(
              "unknown field(s) " + extra.keySet() + " at " + path + " (" + value.getClass().getSimpleName() + ")");
        }
        continue;
      }
      walk(child, path + "." + fieldName(getter), seen);
    }
  }

  private static Object invoke(Method getter, Object target) {
    try {
      return getter.invoke(target);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot read " + getter, e);
    }
  }

  private static String fieldName(Method getter) {
    String name = getter.getName().substring(3);
    return name.isEmpty() ? name : Character.toLowerCase(name.charAt(0)) + name.substring(1);
  }
}
