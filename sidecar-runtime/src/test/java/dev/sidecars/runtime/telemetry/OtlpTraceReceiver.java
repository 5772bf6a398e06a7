package dev.sidecars.runtime.telemetry;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;

/**
 * A real OTLP/HTTP trace endpoint on a free loopback port that keeps each export request and decodes
 * just enough of the protobuf wire format to read the resource and the instrumentation scope, as a
 * collector would see them.
 */
final class OtlpTraceReceiver implements AutoCloseable {
  private final HttpServer server;
  private final List<byte[]> requests = new CopyOnWriteArrayList<>();

  OtlpTraceReceiver() {
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.createContext(
        "/v1/traces",
        exchange -> {
          try (InputStream raw = exchange.getRequestBody()) {
            boolean gzip = "gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"));
            byte[] body = raw.readAllBytes();
            requests.add(gzip ? new GZIPInputStream(new ByteArrayInputStream(body)).readAllBytes() : body);
          }
          // An empty body is a valid, empty ExportTraceServiceResponse.
          exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
          exchange.sendResponseHeaders(200, -1);
          exchange.close();
        });
    server.start();
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  List<byte[]> requests() {
    return requests;
  }

  /** String attributes of the first ResourceSpans' resource in {@code request}. */
  static Map<String, String> resourceAttributes(byte[] request) {
    byte[] resourceSpans = first(fields(request), 1);
    byte[] resource = first(fields(resourceSpans), 1);
    Map<String, String> attributes = new LinkedHashMap<>();
    for (Object kv : fields(resource).getOrDefault(1, List.of())) {
      Map<Integer, List<Object>> keyValue = fields((byte[]) kv);
      String key = string(first(keyValue, 1));
      Map<Integer, List<Object>> anyValue = fields(first(keyValue, 2));
      if (anyValue.containsKey(1)) {
        attributes.put(key, string(first(anyValue, 1)));
      }
    }
    return attributes;
  }

  /** Name and version of the first ScopeSpans' instrumentation scope in {@code request}. */
  static List<String> scope(byte[] request) {
    byte[] resourceSpans = first(fields(request), 1);
    byte[] scopeSpans = first(fields(resourceSpans), 2);
    Map<Integer, List<Object>> scope = fields(first(fields(scopeSpans), 1));
    return List.of(string(first(scope, 1)), string(first(scope, 2)));
  }

  private static byte[] first(Map<Integer, List<Object>> fields, int number) {
    List<Object> values = fields.get(number);
    if (values == null || values.isEmpty()) {
      throw new AssertionError("protobuf field " + number + " missing; fields present: " + fields.keySet());
    }
    return (byte[]) values.get(0);
  }

  private static String string(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** Field number to values: varints as Long, length-delimited as byte[]; fixed-width ones skipped. */
  private static Map<Integer, List<Object>> fields(byte[] message) {
    Map<Integer, List<Object>> out = new LinkedHashMap<>();
    int[] pos = {0};
    while (pos[0] < message.length) {
      long tag = varint(message, pos);
      int number = (int) (tag >>> 3);
      switch ((int) (tag & 7)) {
        case 0 -> out.computeIfAbsent(number, n -> new ArrayList<>()).add(varint(message, pos));
        case 1 -> pos[0] += 8;
        case 2 -> {
          int length = (int) varint(message, pos);
          byte[] value = new byte[length];
          System.arraycopy(message, pos[0], value, 0, length);
          pos[0] += length;
          out.computeIfAbsent(number, n -> new ArrayList<>()).add(value);
        }
        case 5 -> pos[0] += 4;
        default -> throw new AssertionError("unexpected wire type in tag " + tag);
      }
    }
    return out;
  }

  private static long varint(byte[] message, int[] pos) {
    long value = 0;
    for (int shift = 0; ; shift += 7) {
      byte b = message[pos[0]++];
      value |= (long) (b & 0x7f) << shift;
      if (b >= 0) {
        return value;
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
