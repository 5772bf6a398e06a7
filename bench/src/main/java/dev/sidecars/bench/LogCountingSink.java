package dev.sidecars.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;

/**
 * An OTLP/HTTP logs receiver for benchmarks that keeps nothing: it decodes every {@code /v1/logs}
 * request (protobuf, gzip or not), counts the records and their body bytes, and answers success. {@code
 * GET /count} gives {@code records bodyBytes requests}. It exists so a benchmark of a log shipper
 * measures the shipper, not the receiver's store.
 *
 * <p>By default a request is decoded at the wire level ({@link WireLogs}): every field of every record is
 * read and checked, and every string body checked as UTF-8, but no message objects are built, so the
 * receiver costs a fraction of the CPU of a full parse on a machine it shares with the shipper. {@code
 * --decode=messages} parses into the generated classes instead, as the figures before 2026-11-26 did.
 *
 * <p>Bodies that start with a write time in epoch microseconds (16 digits and a space, as {@link
 * TimedLineWriter} writes them) also get their latency recorded: the request's arrival time minus the
 * line's write time, both from this machine's wall clock. {@code GET /latency} gives {@code lines p50
 * p99 max} in milliseconds (see {@link #latency} for the per-second and after-warm-up forms).
 *
 * <p>Before it says it listens, the sink warms up on 200 requests of its own ({@code --warm-up=N} to change,
 * 0 for none), so its JIT compiles before a benchmark starts, not on the cores the shipper is measured on.
 *
 * <p>Usage: {@code java -cp bench.jar dev.sidecars.bench.LogCountingSink [port] [--decode=wire|messages]
 * [--warm-up=N]}; prints {@code log-counting-sink listening on otlp-http=PORT}.
 */
public final class LogCountingSink {
  private static final int MAX_REQUEST_BYTES = 256 << 20;
  private final AtomicLong records = new AtomicLong();
  private final AtomicLong bodyBytes = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private long[] latencies = new long[1 << 16];
  private long[] writtenAt = new long[1 << 16];
  private int latencyCount;
  private final byte[] ok = ExportLogsServiceResponse.getDefaultInstance().toByteArray();
  private final boolean wire;
  private final ThreadLocal<byte[]> requestBuffers = ThreadLocal.withInitial(() -> new byte[0]);

  private LogCountingSink(boolean wire) {
    this.wire = wire;
  }

  public static void main(String[] args) throws IOException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    boolean wire = true;
    int warmUpRequests = 200;
    for (int i = 1; i < args.length; i++) {
      if (args[i].startsWith("--warm-up=")) {
        warmUpRequests = Integer.parseInt(args[i].substring("--warm-up=".length()));
        continue;
      }
      switch (args[i]) {
        case "--decode=wire" -> wire = true;
        case "--decode=messages" -> wire = false;
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
      }
    }
    LogCountingSink sink = new LogCountingSink(wire);
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    server.createContext("/v1/logs", sink::logs);
    server.createContext("/count", sink::count);
    server.createContext("/latency", sink::latency);
    server.setExecutor(Executors.newFixedThreadPool(2));
    server.start();
    sink.warmUp(server.getAddress(), warmUpRequests);
    System.out.println("log-counting-sink listening on otlp-http=" + server.getAddress().getPort());
    System.out.flush();
  }

  /**
   * Posts {@code requests} requests of 4096 plain records to itself, then forgets them. A collector in
   * production has long been warm; a cold sink would compile its decoding while the shipper runs, on the
   * cores the shipper is measured on (the sink's JIT took a fifth of its CPU in a 1 GiB run).
   */
  private void warmUp(InetSocketAddress address, int requests) throws IOException {
    if (requests <= 0) {
      return;
    }
    LogRecord.Builder record = LogRecord.newBuilder().setObservedTimeUnixNano(1).setSeverityNumberValue(9)
        .setSeverityText("INFO").addAttributes(KeyValue.newBuilder().setKey("log.file.path")
            .setValue(AnyValue.newBuilder().setStringValue("/var/log/app/app.log")));
    ScopeLogs.Builder scope = ScopeLogs.newBuilder();
    for (int i = 0; i < 4096; i++) {
      scope.addLogRecords(record.setBody(AnyValue.newBuilder().setStringValue("warm-up line " + i + " ".repeat(100))));
    }
    byte[] body = ExportLogsServiceRequest.newBuilder()
        .addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(scope)).build().toByteArray();
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    URI uri;
    try {
      // This constructor puts an IPv6 address in brackets itself.
      uri = new URI("http", null, address.getAddress().getHostAddress(), address.getPort(), "/v1/logs", null, null);
    } catch (URISyntaxException e) {
      throw new IOException(e);
    }
    HttpRequest post = HttpRequest.newBuilder(uri)
        .header("Content-Type", "application/x-protobuf").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    try {
      for (int i = 0; i < requests; i++) {
        HttpResponse<Void> response = client.send(post, HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() != 200) {
          throw new IOException("warm-up request answered " + response.statusCode());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while warming up", e);
    }
    records.set(0);
    bodyBytes.set(0);
    this.requests.set(0);
  }

  private void logs(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (!"POST".equals(exchange.getRequestMethod())) {
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      InputStream body = exchange.getRequestBody();
      if ("gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
        body = new GZIPInputStream(body);
      }
      long arrivedMicros;
      long n;
      long bytes;
      try {
        if (wire) {
          byte[] request;
          int length;
          String declared = exchange.getRequestHeaders().getFirst("Content-Length");
          if (declared != null && !"gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
            // Read into this thread's array: readAllBytes's chunk list, copies and zeroed arrays cost more
            // than the decoding (a quarter of the sink's CPU).
            length = declaredLength(declared);
            request = requestBuffer(length);
            if (body.readNBytes(request, 0, length) != length) {
              throw new IOException("request body shorter than its Content-Length");
            }
          } else {
            request = body.readAllBytes();
            length = request.length;
          }
          WireLogs.Counts counts = WireLogs.count(request, length, this::body);
          arrivedMicros = counts.arrivedMicros();
          n = counts.records();
          bytes = counts.bodyBytes();
        } else {
          ExportLogsServiceRequest request = ExportLogsServiceRequest.parseFrom(body);
          arrivedMicros = epochMicros();
          n = 0;
          bytes = 0;
          for (ResourceLogs resource : request.getResourceLogsList()) {
            for (ScopeLogs scope : resource.getScopeLogsList()) {
              n += scope.getLogRecordsCount();
              for (var record : scope.getLogRecordsList()) {
                var text = record.getBody().getStringValueBytes();
                bytes += text.size();
                body(text.toByteArray(), 0, text.size(), arrivedMicros);
              }
            }
          }
        }
      } catch (IOException e) {
        exchange.sendResponseHeaders(400, -1);
        return;
      }
      records.addAndGet(n);
      bodyBytes.addAndGet(bytes);
      requests.incrementAndGet();
      exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, ok.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(ok);
      }
    }
  }

  /** The request's length as its header declares it: 0 to 256 MiB, anything else refused (400). */
  private static int declaredLength(String declared) throws IOException {
    long length;
    try {
      length = Long.parseLong(declared.trim());
    } catch (NumberFormatException e) {
      throw new IOException("Content-Length is not a number: " + declared);
    }
    if (length < 0 || length > MAX_REQUEST_BYTES) {
      throw new IOException("Content-Length " + length + " outside 0 to " + MAX_REQUEST_BYTES);
    }
    return (int) length;
  }

  private byte[] requestBuffer(int length) {
    byte[] buffer = requestBuffers.get();
    if (buffer.length < length) {
      buffer = new byte[(int) Math.min(MAX_REQUEST_BYTES, length + (long) length / 4)];
      requestBuffers.set(buffer);
    }
    return buffer;
  }

  static long epochMicros() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  /** Records the latency of a body that starts with its write time ({@code 16 digits, space}). */
  private void body(byte[] buf, int offset, int length, long arrivedMicros) {
    if (length < 17 || buf[offset + 16] != ' ') {
      return;
    }
    long micros = 0;
    for (int i = 0; i < 16; i++) {
      int d = buf[offset + i] - '0';
      if (d < 0 || d > 9) {
        return;
      }
      micros = micros * 10 + d;
    }
    recordLatency(micros, arrivedMicros - micros);
  }

  private synchronized void recordLatency(long writtenMicros, long micros) {
    if (latencyCount == latencies.length) {
      latencies = java.util.Arrays.copyOf(latencies, latencies.length * 2);
      writtenAt = java.util.Arrays.copyOf(writtenAt, writtenAt.length * 2);
    }
    writtenAt[latencyCount] = writtenMicros;
    latencies[latencyCount++] = micros;
  }

  /**
   * {@code GET /latency}: {@code lines p50 p99 max}; {@code ?by=second}: one such line per second of
   * writing; {@code ?after=N}: without the lines written in the first N seconds.
   */
  private void latency(HttpExchange exchange) throws IOException {
    long[] values;
    long[] at;
    synchronized (this) {
      values = java.util.Arrays.copyOf(latencies, latencyCount);
      at = java.util.Arrays.copyOf(writtenAt, latencyCount);
    }
    StringBuilder text = new StringBuilder();
    String query = String.valueOf(exchange.getRequestURI().getQuery());
    long first = java.util.Arrays.stream(at).min().orElse(0) / 1_000_000;
    if (query.startsWith("after=")) {
      // Lines written in the first N seconds left out: the forwarder's JIT warm-up is not its steady state.
      long from = (first + Long.parseLong(query.substring(6))) * 1_000_000;
      int kept = 0;
      for (int i = 0; i < values.length; i++) {
        if (at[i] >= from) {
          values[kept++] = values[i];
        }
      }
      values = java.util.Arrays.copyOf(values, kept);
    }
    if (query.equals("by=second") && values.length > 0) {
      java.util.Map<Long, java.util.List<Long>> bySecond = new java.util.TreeMap<>();
      for (int i = 0; i < values.length; i++) {
        bySecond.computeIfAbsent(at[i] / 1_000_000 - first, k -> new java.util.ArrayList<>()).add(values[i]);
      }
      bySecond.forEach((second, list) -> text.append(second).append(' ')
          .append(summary(list.stream().mapToLong(Long::longValue).toArray())));
    } else {
      text.append(summary(values));
    }
    try (exchange) {
      byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  /** {@code n p50 p99 max}, in milliseconds. */
  private static String summary(long[] values) {
    if (values.length == 0) {
      return "0 0 0 0\n";
    }
    java.util.Arrays.sort(values);
    return String.format(java.util.Locale.ROOT, "%d %.3f %.3f %.3f%n", values.length, percentile(values, 0.50) / 1000.0,
        percentile(values, 0.99) / 1000.0, values[values.length - 1] / 1000.0);
  }

  /** Nearest-rank percentile of sorted values. */
  private static long percentile(long[] sorted, double p) {
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  private void count(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] text = (records.get() + " " + bodyBytes.get() + " " + requests.get() + "\n").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, text.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(text);
      }
    }
  }
}
