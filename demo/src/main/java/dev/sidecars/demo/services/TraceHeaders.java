package dev.sidecars.demo.services;

import com.sun.net.httpserver.Headers;
import io.grpc.Metadata;
import java.net.http.HttpRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The three W3C headers a service received, kept to be sent on with its own outbound calls: all an
 * uninstrumented app has to do for its sidecars to join one trace. The ids are read only to be logged.
 */
public final class TraceHeaders {
  /** Forwarded as they came: the app does not interpret them. */
  static final List<String> FORWARDED = List.of("traceparent", "tracestate", "baggage");

  public static final TraceHeaders NONE = new TraceHeaders(Map.of());

  private static final Pattern TRACEPARENT =
      Pattern.compile("[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}.*");

  private final Map<String, String> values;

  private TraceHeaders(Map<String, String> values) {
    this.values = values;
  }

  /** Repeated header lines are joined with commas, which is what they mean (RFC 9110, 5.3). */
  public static TraceHeaders from(Headers headers) {
    Map<String, String> values = new LinkedHashMap<>();
    for (String name : FORWARDED) {
      List<String> lines = headers.get(name);
      if (lines != null && !lines.isEmpty()) {
        values.put(name, String.join(",", lines));
      }
    }
    return new TraceHeaders(Map.copyOf(values));
  }

  /** The same three from a gRPC call's request metadata (HTTP/2 headers under another name). */
  public static TraceHeaders from(Metadata metadata) {
    Map<String, String> values = new LinkedHashMap<>();
    for (String name : FORWARDED) {
      Iterable<String> lines = metadata.getAll(key(name));
      if (lines != null) {
        values.put(name, String.join(",", lines));
      }
    }
    return new TraceHeaders(Map.copyOf(values));
  }

  public void copyTo(HttpRequest.Builder request) {
    values.forEach(request::header);
  }

  /** For an outbound gRPC call: the headers as its metadata, which travel as HTTP/2 headers. */
  public Metadata toMetadata() {
    Metadata metadata = new Metadata();
    values.forEach((name, value) -> metadata.put(key(name), value));
    return metadata;
  }

  private static Metadata.Key<String> key(String name) {
    return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
  }

  public Optional<String> traceId() {
    return group(1);
  }

  public Optional<String> spanId() {
    return group(2);
  }

  private Optional<String> group(int group) {
    String traceparent = values.get("traceparent");
    if (traceparent == null) {
      return Optional.empty();
    }
    Matcher m = TRACEPARENT.matcher(traceparent.trim());
    return m.matches() ? Optional.of(m.group(group)) : Optional.empty();
  }
}
