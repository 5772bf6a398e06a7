package dev.sidecars.collector.query;

import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** OTLP values as plain JSON values: strings, numbers, booleans, lists and objects; bytes as base64. */
final class AnyValues {
  private AnyValues() {}

  static Object toJson(AnyValue v) {
    return switch (v.getValueCase()) {
      case STRING_VALUE -> v.getStringValue();
      case BOOL_VALUE -> v.getBoolValue();
      case INT_VALUE -> v.getIntValue();
      case DOUBLE_VALUE -> v.getDoubleValue();
      case BYTES_VALUE -> Base64.getEncoder().encodeToString(v.getBytesValue().toByteArray());
      case ARRAY_VALUE -> {
        List<Object> list = new ArrayList<>();
        v.getArrayValue().getValuesList().forEach(e -> list.add(toJson(e)));
        yield list;
      }
      case KVLIST_VALUE -> toJson(v.getKvlistValue().getValuesList());
      default -> null;
    };
  }

  static Map<String, Object> toJson(List<KeyValue> attributes) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (KeyValue kv : attributes) {
      map.put(kv.getKey(), toJson(kv.getValue()));
    }
    return map;
  }

  /** A Jaeger tag: {@code {"key", "type", "value"}} with Jaeger's type names. */
  static Map<String, Object> tag(String key, AnyValue v) {
    return switch (v.getValueCase()) {
      case BOOL_VALUE -> tag(key, "bool", v.getBoolValue());
      case INT_VALUE -> tag(key, "int64", v.getIntValue());
      case DOUBLE_VALUE -> tag(key, "float64", v.getDoubleValue());
      case BYTES_VALUE -> tag(key, "binary", toJson(v));
      case ARRAY_VALUE, KVLIST_VALUE -> tag(key, "string", Json.write(toJson(v)));
      default -> tag(key, "string", v.getStringValue());
    };
  }

  static Map<String, Object> tag(String key, String type, Object value) {
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("key", key);
    t.put("type", type);
    t.put("value", value);
    return t;
  }

  static List<Map<String, Object>> tags(List<KeyValue> attributes) {
    List<Map<String, Object>> tags = new ArrayList<>(attributes.size());
    for (KeyValue kv : attributes) {
      tags.add(tag(kv.getKey(), kv.getValue()));
    }
    return tags;
  }
}
