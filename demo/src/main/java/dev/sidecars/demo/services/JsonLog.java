package dev.sidecars.demo.services;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The demo services' log file: one JSON object per line, the way an app that knows nothing of OpenTelemetry
 * logs, with the trace id it received as a plain field. The log-forwarder does the rest.
 */
public final class JsonLog implements AutoCloseable {
  private final FileChannel file;
  private final String service;
  private final Clock clock;

  public JsonLog(Path path, String service, Clock clock) {
    this.service = service;
    this.clock = clock;
    try {
      if (path.getParent() != null) {
        Files.createDirectories(path.getParent());
      }
      this.file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open log file " + path, e);
    }
  }

  /** Appends one line; {@code trace} may be {@link TraceHeaders#NONE}. */
  public void write(String level, String message, TraceHeaders trace, Map<String, ?> fields) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("time", clock.instant().toString());
    line.put("level", level);
    line.put("service", service);
    line.put("message", message);
    trace.traceId().ifPresent(id -> line.put("trace_id", id));
    trace.spanId().ifPresent(id -> line.put("span_id", id));
    line.putAll(fields);
    byte[] bytes = (Json.object(line) + "\n").getBytes(StandardCharsets.UTF_8);
    // One write per line, under the lock, so concurrent requests never interleave inside a line.
    synchronized (this) {
      try {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
          file.write(buffer);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  @Override
  public synchronized void close() {
    try {
      file.close();
    } catch (IOException e) {
      // closing at exit; nothing left to lose
    }
  }
}
