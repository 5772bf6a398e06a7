package dev.sidecars.runtime.http;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * One JSON line per exchange: {@code time}, {@code method}, {@code path}, {@code route} (or {@code
 * upstream} on the client side), {@code status}, {@code flags} (the {@link ResponseFlag} code, {@code -}
 * when the upstream answered), {@code duration_ms}, {@code upstream_ms}, {@code bytes_in}, {@code
 * bytes_out}, {@code trace_id}, {@code span_id}, {@code client}, {@code user_agent}, {@code peer} (the
 * verified identity of the TLS peer, when it showed a certificate).
 */
public final class AccessLog {
  /** One finished exchange, as the log line shows it. */
  public record Entry(
      Instant time,
      String method,
      String path,
      String targetField,
      String target,
      int status,
      ResponseFlag flag,
      double durationMs,
      double upstreamMs,
      long bytesIn,
      long bytesOut,
      String traceId,
      String spanId,
      String client,
      String userAgent,
      String peer) {}

  private static final JsonFactory JSON = new JsonFactory();
  private static final AccessLog OFF = new AccessLog(null);

  private final Consumer<Entry> sink;

  private AccessLog(Consumer<Entry> sink) {
    this.sink = sink;
  }

  /** Formats each entry on the calling thread and hands the line to {@code lines} (a list in tests). */
  public static AccessLog to(Consumer<String> lines) {
    return new AccessLog(e -> lines.accept(format(e)));
  }

  /**
   * Hands each entry as it is to {@code entries}, which formats it later ({@link AccessLogWriter}): the
   * JSON is then made on the writer's thread instead of the I/O thread that served the request, where it
   * was the largest allocation of the proxies' own code.
   */
  public static AccessLog entriesTo(Consumer<Entry> entries) {
    return new AccessLog(entries);
  }

  /** Writes nothing. */
  public static AccessLog off() {
    return OFF;
  }

  public boolean enabled() {
    return sink != null;
  }

  public void log(Entry e) {
    if (sink != null) {
      sink.accept(e);
    }
  }

  /** The entry as one JSON line, without the newline. */
  public static String format(Entry e) {
    StringWriter out = new StringWriter(320);
    try (JsonGenerator json = JSON.createGenerator(out)) {
      write(e, json);
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    return out.toString();
  }

  /**
   * Entries as JSON lines in UTF-8 on {@code out}, through one generator for all of them ({@link
   * AccessLogWriter} makes one per writer): a generator, its buffers and a string per line were the
   * largest allocation of the proxies' own code.
   */
  public static AccessLogWriter.Lines<Entry> jsonLines(OutputStream out) throws IOException {
    JsonGenerator json = JSON.createGenerator(out, JsonEncoding.UTF8);
    json.setRootValueSeparator(null); // each line ends with a newline instead of Jackson's space between values
    return new AccessLogWriter.Lines<>() {
      @Override
      public void write(Entry e) throws IOException {
        AccessLog.write(e, json);
        json.writeRaw('\n');
      }

      @Override
      public void flush() throws IOException {
        json.flush();
      }
    };
  }

  private static void write(Entry e, JsonGenerator json) throws IOException {
    json.writeStartObject();
    json.writeStringField("time", e.time().toString());
    json.writeStringField("method", e.method());
    json.writeStringField("path", e.path());
    json.writeStringField(e.targetField(), e.target());
    json.writeNumberField("status", e.status());
    json.writeStringField("flags", e.flag() == null ? "-" : e.flag().code());
    json.writeNumberField("duration_ms", round(e.durationMs()));
    if (e.upstreamMs() >= 0) {
      json.writeNumberField("upstream_ms", round(e.upstreamMs()));
    }
    if (e.bytesIn() >= 0) {
      json.writeNumberField("bytes_in", e.bytesIn());
    }
    json.writeNumberField("bytes_out", e.bytesOut());
    if (e.traceId() != null) {
      json.writeStringField("trace_id", e.traceId());
      json.writeStringField("span_id", e.spanId());
    }
    if (e.client() != null) {
      json.writeStringField("client", e.client());
    }
    if (e.userAgent() != null) {
      json.writeStringField("user_agent", e.userAgent());
    }
    if (e.peer() != null) {
      json.writeStringField("peer", e.peer());
    }
    json.writeEndObject();
  }

  private static double round(double ms) {
    return Math.round(ms * 1000) / 1000.0;
  }
}
