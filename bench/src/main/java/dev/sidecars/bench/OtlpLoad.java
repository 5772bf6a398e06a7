package dev.sidecars.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Load generator for the collector-stub ingest benchmark ({@code bench/ingest.sh}, see BENCHMARKS.md).
 *
 * <p>Sends OTLP/HTTP protobuf trace exports ({@code POST /v1/traces}) as fast as the receiver answers,
 * from {@code --connections} keep-alive connections with one request in flight each, and prints one
 * machine-readable {@code RESULT} line. Requests are serialized before the clock starts so that the
 * generator's own protobuf cost is not part of the measurement. Exits 1 when any request failed or any
 * span was rejected, 2 when the run overran its deadline, 64 on bad arguments.
 *
 * <p>Options ({@code --key=value}): {@code --url} (base URL, {@code /v1/traces} is appended unless
 * present), {@code --spans-per-batch=512}, {@code --duration=30s}, {@code --warmup=5s},
 * {@code --connections=4}, {@code --client=socket|jdk}, {@code --pool=32} (distinct requests),
 * {@code --spans-per-trace=8}, {@code --services=4}, {@code --distinct-traces=true},
 * {@code --request-timeout=10s}, {@code --seed=1}, {@code --progress=5s}.
 */
public final class OtlpLoad {
  private static final String PROTOBUF = "application/x-protobuf";
  private static final VarHandle LONG_BE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
  // A Span's trace_id is field 1, length-delimited: tag 0x0A then length 16.
  private static final byte TRACE_ID_TAG = 0x0A;
  private static final byte TRACE_ID_LEN = 0x10;

  private OtlpLoad() {}

  record Options(
      URI url,
      int spansPerBatch,
      Duration duration,
      Duration warmup,
      int connections,
      String client,
      int pool,
      int spansPerTrace,
      int services,
      boolean distinctTraces,
      Duration requestTimeout,
      long seed,
      Duration progress) {

    static Options parse(String[] args) {
      Map<String, String> m = new LinkedHashMap<>();
      for (String a : args) {
        if (a.equals("--help") || a.equals("-h")) {
          throw new IllegalArgumentException("usage");
        }
        if (!a.startsWith("--") || !a.contains("=")) {
          throw new IllegalArgumentException("expected --key=value, got: " + a);
        }
        m.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
      }
      String url = take(m, "url", "http://127.0.0.1:4318");
      URI uri = URI.create(url.endsWith("/v1/traces") ? url
          : (url.endsWith("/") ? url.substring(0, url.length() - 1) : url) + "/v1/traces");
      Options o = new Options(
          uri,
          positive(take(m, "spans-per-batch", "512"), "spans-per-batch"),
          duration(take(m, "duration", "30s")),
          duration(take(m, "warmup", "5s")),
          positive(take(m, "connections", "4"), "connections"),
          take(m, "client", "socket"),
          positive(take(m, "pool", "32"), "pool"),
          positive(take(m, "spans-per-trace", "8"), "spans-per-trace"),
          positive(take(m, "services", "4"), "services"),
          Boolean.parseBoolean(take(m, "distinct-traces", "true")),
          duration(take(m, "request-timeout", "10s")),
          Long.parseLong(take(m, "seed", "1")),
          duration(take(m, "progress", "5s")));
      if (!m.isEmpty()) {
        throw new IllegalArgumentException("unknown option(s): " + m.keySet());
      }
      if (!o.client.equals("socket") && !o.client.equals("jdk")) {
        throw new IllegalArgumentException("--client must be socket or jdk");
      }
      if (o.client.equals("socket") && !"http".equals(uri.getScheme())) {
        throw new IllegalArgumentException("--client=socket speaks plain http only; use --client=jdk for https");
      }
      if (o.duration.isZero()) {
        throw new IllegalArgumentException("--duration must be > 0");
      }
      return o;
    }

    private static String take(Map<String, String> m, String key, String dflt) {
      String v = m.remove(key);
      return v == null ? dflt : v;
    }

    private static int positive(String v, String name) {
      int n = Integer.parseInt(v);
      if (n <= 0) {
        throw new IllegalArgumentException("--" + name + " must be > 0");
      }
      return n;
    }

    static Duration duration(String v) {
      String s = v.trim().toLowerCase(Locale.ROOT);
      if (s.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
      }
      if (s.endsWith("s")) {
        return Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
      }
      if (s.endsWith("m")) {
        return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)) * 60);
      }
      return Duration.ofMillis(Math.round(Double.parseDouble(s) * 1000));
    }
  }

  /** One serialized export and where its trace ids sit, so they can be renewed without re-serializing. */
  record Template(byte[] body, int[][] traceIdOffsets) {}

  public static void main(String[] args) {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("OtlpLoad: " + e.getMessage());
      System.err.println("usage: java -jar bench.jar --url=http://127.0.0.1:4318 [--spans-per-batch=512]"
          + " [--duration=30s] [--warmup=5s] [--connections=4] [--client=socket|jdk] [--pool=32]"
          + " [--spans-per-trace=8] [--services=4] [--distinct-traces=true] [--request-timeout=10s]"
          + " [--seed=1] [--progress=5s]");
      System.exit(64);
      return;
    }
    System.exit(run(o));
  }

  static int run(Options o) {
    List<Template> pool = buildPool(o);
    long bytes = pool.stream().mapToLong(t -> t.body().length).sum();
    double avgBody = (double) bytes / pool.size();
    System.err.printf(Locale.ROOT,
        "[load] %s client=%s connections=%d pool=%d requests x %d spans, avg %.1f KiB/request (%.0f B/span),"
            + " %d spans/trace, distinct-traces=%s%n",
        o.url(), o.client(), o.connections(), pool.size(), o.spansPerBatch(), avgBody / 1024,
        avgBody / o.spansPerBatch(), o.spansPerTrace(), o.distinctTraces());

    long start = System.nanoTime();
    long measureFrom = start + o.warmup().toNanos();
    long measureTo = measureFrom + o.duration().toNanos();
    Phase phase = new Phase(measureFrom, measureTo);
    HttpClient jdk = o.client().equals("jdk")
        ? HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(o.requestTimeout()).build()
        : null;

    CountDownLatch done = new CountDownLatch(o.connections());
    List<Worker> workers = new ArrayList<>();
    for (int i = 0; i < o.connections(); i++) {
      Worker w = new Worker(i, o, pool, phase, jdk, done);
      workers.add(w);
      Thread t = new Thread(w, "sender-" + i);
      // Daemon, so a sender stuck past the deadline cannot keep the process alive.
      t.setDaemon(true);
      t.start();
    }

    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    awaitUntil(done, measureFrom);
    long cpuFrom = os.getProcessCpuTime();
    long lastReport = System.nanoTime();
    long lastSpans = phase.measuredSpans.sum();
    long progressNanos = o.progress().isZero() ? Long.MAX_VALUE : o.progress().toNanos();
    while (System.nanoTime() < measureTo && done.getCount() > 0) {
      long next = Math.min(measureTo, progressNanos == Long.MAX_VALUE ? measureTo : lastReport + progressNanos);
      awaitUntil(done, next);
      long now = System.nanoTime();
      long spans = phase.measuredSpans.sum();
      if (progressNanos != Long.MAX_VALUE && now - lastReport > 0) {
        System.err.printf(Locale.ROOT, "[load] t=%.0fs spans/s=%.0f errors=%d%n",
            (now - start) / 1e9, (spans - lastSpans) / ((now - lastReport) / 1e9), phase.errors.sum());
      }
      lastReport = now;
      lastSpans = spans;
    }
    long cpuTo = os.getProcessCpuTime();
    long cpuAt = System.nanoTime();

    boolean finished;
    try {
      finished = done.await(o.requestTimeout().toNanos() + TimeUnit.SECONDS.toNanos(5), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      finished = false;
    }
    if (!finished) {
      System.err.println("[load] senders did not finish within the request timeout after the run; giving up");
      return 2;
    }

    long requests = 0;
    long ok = 0;
    long errors = 0;
    long totalRequests = 0;
    long totalOk = 0;
    long rejectedSpans = 0;
    Map<String, Long> failures = new LinkedHashMap<>();
    long[] latencies = new long[0];
    for (Worker w : workers) {
      requests += w.measuredRequests;
      ok += w.measuredOk;
      errors += w.errors;
      totalRequests += w.totalRequests;
      totalOk += w.totalOk;
      rejectedSpans += w.rejectedSpans;
      w.failures.forEach((k, v) -> failures.merge(k, v, Long::sum));
      int from = latencies.length;
      latencies = Arrays.copyOf(latencies, from + w.latencyCount);
      System.arraycopy(w.latencies, 0, latencies, from, w.latencyCount);
    }
    Arrays.sort(latencies);
    // The window ends when the last counted response may arrive, not when the last sender stops.
    double seconds = (Math.min(cpuAt, measureTo) - measureFrom) / 1e9;
    long spans = ok * o.spansPerBatch();
    double cpuCores = (cpuTo - cpuFrom) / 1e9 / seconds;
    failures.forEach((k, v) -> System.err.println("[load] failure: " + k + " x" + v));
    System.out.printf(Locale.ROOT,
        "RESULT client=%s connections=%d spans_per_batch=%d seconds=%.2f spans=%d spans_per_sec=%.0f"
            + " requests=%d requests_per_sec=%.1f errors=%d rejected_spans=%d p50_ms=%.2f p90_ms=%.2f"
            + " p99_ms=%.2f max_ms=%.2f loadgen_cpu_cores=%.2f bytes_per_request=%.0f"
            + " total_requests=%d total_ok=%d total_spans_sent=%d total_spans_ok=%d%n",
        o.client(), o.connections(), o.spansPerBatch(), seconds, spans, spans / seconds, requests,
        requests / seconds, errors, rejectedSpans, pct(latencies, 0.50), pct(latencies, 0.90),
        pct(latencies, 0.99), latencies.length == 0 ? 0.0 : latencies[latencies.length - 1] / 1e6, cpuCores,
        avgBody, totalRequests, totalOk, totalRequests * o.spansPerBatch(), totalOk * o.spansPerBatch());
    System.out.flush();
    return errors == 0 && rejectedSpans == 0 && ok > 0 ? 0 : 1;
  }

  private static void awaitUntil(CountDownLatch done, long deadlineNanos) {
    long wait = deadlineNanos - System.nanoTime();
    if (wait <= 0) {
      return;
    }
    try {
      done.await(wait, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static double pct(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(p * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
  }

  /** Shared clock and the counters the progress report reads while senders run. */
  static final class Phase {
    final long measureFrom;
    final long measureTo;
    final LongAdder measuredSpans = new LongAdder();
    final LongAdder errors = new LongAdder();

    Phase(long measureFrom, long measureTo) {
      this.measureFrom = measureFrom;
      this.measureTo = measureTo;
    }
  }

  /** One connection, one request in flight: the way an SDK's batch exporter sends. */
  static final class Worker implements Runnable {
    private static final int MAX_CONSECUTIVE_FAILURES = 10;
    private final Options o;
    private final List<Template> pool;
    private final Phase phase;
    private final HttpClient jdk;
    private final CountDownLatch done;
    private final int index;
    // Thread-owned copy of a template; renewing trace ids in a shared one would race with other senders.
    private byte[] scratch = new byte[0];
    private final byte[][] heads;
    private SocketConnection connection;

    long measuredRequests;
    long measuredOk;
    long errors;
    long totalRequests;
    long totalOk;
    long rejectedSpans;
    long[] latencies = new long[4096];
    int latencyCount;
    final Map<String, Long> failures = new HashMap<>();

    Worker(int index, Options o, List<Template> pool, Phase phase, HttpClient jdk, CountDownLatch done) {
      this.index = index;
      this.o = o;
      this.pool = pool;
      this.phase = phase;
      this.jdk = jdk;
      this.done = done;
      this.heads = new byte[pool.size()][];
      for (int i = 0; i < pool.size(); i++) {
        heads[i] = jdk != null ? new byte[0] : SocketConnection.head(o.url(), pool.get(i).body().length);
      }
    }

    @Override
    public void run() {
      try {
        // Senders start at different templates so concurrent requests are not identical.
        int next = index * Math.max(1, pool.size() / Math.max(1, o.connections()));
        int consecutiveFailures = 0;
        while (System.nanoTime() < phase.measureTo && consecutiveFailures < MAX_CONSECUTIVE_FAILURES) {
          int len = prepare(next++ % pool.size());
          long begin = System.nanoTime();
          String failure = null;
          int status;
          try {
            status = jdk != null ? sendJdk(len) : sendSocket(len);
            if (status != 200) {
              failure = "HTTP " + status;
            }
          } catch (IOException e) {
            failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            closeConnection();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          long end = System.nanoTime();
          totalRequests++;
          boolean measured = end >= phase.measureFrom && end <= phase.measureTo;
          if (measured) {
            measuredRequests++;
          }
          if (failure == null) {
            consecutiveFailures = 0;
            totalOk++;
            if (measured) {
              measuredOk++;
              phase.measuredSpans.add(o.spansPerBatch());
              if (latencyCount == latencies.length) {
                latencies = Arrays.copyOf(latencies, latencies.length * 2);
              }
              latencies[latencyCount++] = end - begin;
            }
          } else {
            consecutiveFailures++;
            errors++;
            phase.errors.increment();
            failures.merge(failure, 1L, Long::sum);
          }
        }
        if (consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
          System.err.println("[load] sender-" + index + " stopped after " + consecutiveFailures
              + " consecutive failures");
        }
      } finally {
        closeConnection();
        done.countDown();
      }
    }

    /** Copies the template behind the socket's request head and gives each trace a fresh random id. */
    private int prepare(int templateIndex) {
      Template t = pool.get(templateIndex);
      byte[] head = heads[templateIndex];
      int len = head.length + t.body().length;
      if (scratch.length < len) {
        scratch = new byte[len];
      }
      System.arraycopy(head, 0, scratch, 0, head.length);
      System.arraycopy(t.body(), 0, scratch, head.length, t.body().length);
      if (o.distinctTraces()) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int[] offsets : t.traceIdOffsets()) {
          long hi = r.nextLong();
          long lo = r.nextLong() | 1; // never the invalid all-zero id
          for (int off : offsets) {
            LONG_BE.set(scratch, head.length + off, hi);
            LONG_BE.set(scratch, head.length + off + 8, lo);
          }
        }
      }
      return len;
    }

    private int sendSocket(int len) throws IOException {
      if (connection == null) {
        connection = new SocketConnection(o.url(), (int) o.requestTimeout().toMillis());
      }
      int status = connection.exchange(scratch, len);
      if (status == 200) {
        countRejected(connection.body, connection.bodyLength);
      }
      if (!connection.keepAlive) {
        closeConnection();
      }
      return status;
    }

    private int sendJdk(int len) throws IOException, InterruptedException {
      // The JDK client may read the body array after send() is called from its own threads, so it
      // gets a private copy rather than the reused scratch buffer.
      HttpRequest request = HttpRequest.newBuilder(o.url())
          .timeout(o.requestTimeout())
          .header("Content-Type", PROTOBUF)
          .POST(HttpRequest.BodyPublishers.ofByteArray(Arrays.copyOf(scratch, len)))
          .build();
      HttpResponse<byte[]> response = jdk.send(request, HttpResponse.BodyHandlers.ofByteArray());
      if (response.statusCode() == 200) {
        countRejected(response.body(), response.body().length);
      }
      return response.statusCode();
    }

    private void countRejected(byte[] body, int length) throws IOException {
      try {
        ExportTraceServiceResponse r = ExportTraceServiceResponse.parseFrom(ByteString.copyFrom(body, 0, length));
        if (r.hasPartialSuccess() && r.getPartialSuccess().getRejectedSpans() > 0) {
          rejectedSpans += r.getPartialSuccess().getRejectedSpans();
          failures.merge("partial success: " + r.getPartialSuccess().getErrorMessage(), 1L, Long::sum);
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IOException("200 response is not an ExportTraceServiceResponse: " + e.getMessage(), e);
      }
    }

    private void closeConnection() {
      if (connection != null) {
        connection.close();
        connection = null;
      }
    }
  }

  /**
   * Minimal HTTP/1.1 client over one socket. The JDK client costs the generator noticeably more CPU per
   * request (selector thread hand-offs, body copies), which on a 2-core machine is taken from the
   * receiver under test; {@code --client=jdk} keeps it available for comparison.
   */
  static final class SocketConnection {
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final byte[] line = new byte[8192];
    byte[] body = new byte[1024];
    int bodyLength;
    boolean keepAlive;

    SocketConnection(URI url, int timeoutMillis) throws IOException {
      this(connect(url, timeoutMillis));
    }

    /** Over a socket already connected (and configured: HttpLoad's may be TLS). */
    SocketConnection(Socket socket) throws IOException {
      this.socket = socket;
      out = socket.getOutputStream();
      in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
    }

    private static Socket connect(URI url, int timeoutMillis) throws IOException {
      Socket socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(timeoutMillis);
      socket.connect(new InetSocketAddress(url.getHost(), port(url)), timeoutMillis);
      return socket;
    }

    private static int port(URI url) {
      return url.getPort() > 0 ? url.getPort() : 80;
    }

    static byte[] head(URI url, int contentLength) {
      String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
      return ("POST " + path + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + port(url)
          + "\r\nContent-Type: " + PROTOBUF + "\r\nContent-Length: " + contentLength
          + "\r\nConnection: keep-alive\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** Writes one whole request and reads the whole response; returns its status. */
    int exchange(byte[] request, int length) throws IOException {
      out.write(request, 0, length);
      out.flush();
      String statusLine = readLine();
      String[] parts = statusLine.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
        throw new IOException("not an HTTP/1.x status line: " + statusLine);
      }
      int status = Integer.parseInt(parts[1]);
      keepAlive = parts[0].equals("HTTP/1.1");
      long contentLength = -1;
      boolean chunked = false;
      for (String h; !(h = readLine()).isEmpty(); ) {
        int colon = h.indexOf(':');
        if (colon < 0) {
          continue;
        }
        String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = h.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
        switch (name) {
          case "content-length" -> contentLength = Long.parseLong(value);
          case "transfer-encoding" -> chunked = value.contains("chunked");
          case "connection" -> keepAlive = value.contains("keep-alive") || (keepAlive && !value.contains("close"));
          default -> { }
        }
      }
      bodyLength = 0;
      if (chunked) {
        for (int size; (size = Integer.parseInt(readLine().split(";", 2)[0].trim(), 16)) > 0; ) {
          readBody(size);
          readLine();
        }
        while (!readLine().isEmpty()) {
          // trailers are not used by OTLP
        }
      } else if (contentLength >= 0) {
        readBody((int) contentLength);
      } else {
        keepAlive = false;
        for (int n; (n = in.read(line)) != -1; ) {
          append(line, n);
        }
      }
      return status;
    }

    private void readBody(int size) throws IOException {
      ensure(bodyLength + size);
      int end = bodyLength + size;
      while (bodyLength < end) {
        int n = in.read(body, bodyLength, end - bodyLength);
        if (n < 0) {
          throw new EOFException("connection closed inside a response body");
        }
        bodyLength += n;
      }
    }

    private void append(byte[] b, int n) {
      ensure(bodyLength + n);
      System.arraycopy(b, 0, body, bodyLength, n);
      bodyLength += n;
    }

    private void ensure(int capacity) {
      if (body.length < capacity) {
        body = Arrays.copyOf(body, Math.max(capacity, body.length * 2));
      }
    }

    private String readLine() throws IOException {
      int n = 0;
      for (int c; (c = in.read()) != '\n'; ) {
        if (c < 0) {
          throw new EOFException("connection closed by the server");
        }
        if (n == line.length) {
          throw new IOException("response header line longer than " + line.length + " bytes");
        }
        line[n++] = (byte) c;
      }
      if (n > 0 && line[n - 1] == '\r') {
        n--;
      }
      return new String(line, 0, n, StandardCharsets.ISO_8859_1);
    }

    void close() {
      try {
        socket.close();
      } catch (IOException e) {
        // nothing left to release
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The request pool: spans shaped like what OpenTelemetry's Java agent exports for a small shop.

  private static final String[] SERVICES = {"checkout", "orders", "payments", "inventory", "shipping", "cart"};
  private static final String[] ROUTES = {"/api/orders/{id}", "/api/cart", "/api/payments", "/api/items/{sku}",
      "/api/shipments/{id}", "/health"};
  private static final String[] TABLES = {"orders", "order_items", "customers", "payments", "stock"};
  private static final String[] AGENTS = {
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
      "okhttp/4.12.0", "Java-http-client/17.0.15", "curl/8.5.0"};

  static List<Template> buildPool(Options o) {
    SplittableRandom rnd = new SplittableRandom(o.seed());
    long baseNanos = System.currentTimeMillis() * 1_000_000L;
    List<Template> pool = new ArrayList<>(o.pool());
    for (int i = 0; i < o.pool(); i++) {
      String service = SERVICES[i % Math.min(o.services(), SERVICES.length)]
          + (o.services() > SERVICES.length ? "-" + (i % o.services()) : "");
      pool.add(template(o, rnd, service, baseNanos));
    }
    return pool;
  }

  private static Template template(Options o, SplittableRandom rnd, String service, long baseNanos) {
    Resource resource = Resource.newBuilder()
        .addAttributes(kv("service.name", service))
        .addAttributes(kv("service.namespace", "shop"))
        .addAttributes(kv("service.version", "1.4." + rnd.nextInt(10)))
        .addAttributes(kv("service.instance.id", new java.util.UUID(rnd.nextLong(), rnd.nextLong()).toString()))
        .addAttributes(kv("host.name", service + "-" + Integer.toHexString(rnd.nextInt(0x10000))))
        .addAttributes(kv("deployment.environment.name", "bench"))
        .addAttributes(kv("process.pid", 1 + rnd.nextInt(32768)))
        .addAttributes(kv("telemetry.sdk.name", "opentelemetry"))
        .addAttributes(kv("telemetry.sdk.language", "java"))
        .addAttributes(kv("telemetry.sdk.version", "1.68.0"))
        .build();
    // One scope per instrumentation library, as an agent's exporter batches them.
    ScopeSpans.Builder http = ScopeSpans.newBuilder()
        .setScope(InstrumentationScope.newBuilder().setName("io.opentelemetry.undertow-1.4").setVersion("2.17.0"));
    ScopeSpans.Builder jdbc = ScopeSpans.newBuilder()
        .setScope(InstrumentationScope.newBuilder().setName("io.opentelemetry.jdbc").setVersion("2.17.0"));
    ScopeSpans.Builder app = ScopeSpans.newBuilder()
        .setScope(InstrumentationScope.newBuilder().setName("dev.sidecars.shop").setVersion("1.4.0"));

    List<byte[]> traceIds = new ArrayList<>();
    int made = 0;
    while (made < o.spansPerBatch()) {
      byte[] traceId = new byte[16];
      fill(rnd, traceId);
      traceIds.add(traceId);
      ByteString tid = ByteString.copyFrom(traceId);
      int size = Math.min(o.spansPerTrace(), o.spansPerBatch() - made);
      long start = baseNanos - rnd.nextLong(60_000_000_000L);
      long rootDuration = 2_000_000L + rnd.nextLong(200_000_000L);
      byte[] rootId = spanId(rnd);
      int statusCode = rnd.nextInt(100) < 3 ? 500 : rnd.nextInt(100) < 5 ? 404 : 200;
      String route = ROUTES[rnd.nextInt(ROUTES.length)];
      Span.Builder root = Span.newBuilder()
          .setTraceId(tid).setSpanId(ByteString.copyFrom(rootId))
          .setName((route.equals("/api/cart") ? "POST " : "GET ") + route)
          .setKind(Span.SpanKind.SPAN_KIND_SERVER)
          .setStartTimeUnixNano(start).setEndTimeUnixNano(start + rootDuration)
          .addAttributes(kv("http.request.method", route.equals("/api/cart") ? "POST" : "GET"))
          .addAttributes(kv("http.route", route))
          .addAttributes(kv("url.path", route.replace("{id}", Integer.toString(rnd.nextInt(1_000_000)))
              .replace("{sku}", "SKU-" + rnd.nextInt(10_000))))
          .addAttributes(kv("url.scheme", "http"))
          .addAttributes(kv("http.response.status_code", statusCode))
          .addAttributes(kv("server.address", service + ".shop.internal"))
          .addAttributes(kv("server.port", 8080))
          .addAttributes(kv("network.protocol.version", "1.1"))
          .addAttributes(kv("user_agent.original", AGENTS[rnd.nextInt(AGENTS.length)]))
          .addAttributes(kv("client.address", "192.0.2." + (1 + rnd.nextInt(254))));
      if (statusCode >= 500) {
        root.setStatus(Status.newBuilder().setCode(Status.StatusCode.STATUS_CODE_ERROR))
            .addEvents(exception(start + rootDuration / 2, "java.lang.IllegalStateException", "order state changed"));
      }
      http.addSpans(root);
      for (int k = 1; k < size; k++) {
        long childStart = start + rnd.nextLong(Math.max(1, rootDuration / 2));
        long childDuration = 100_000L + rnd.nextLong(Math.max(1, rootDuration / 4));
        Span.Builder child = Span.newBuilder()
            .setTraceId(tid).setSpanId(ByteString.copyFrom(spanId(rnd))).setParentSpanId(ByteString.copyFrom(rootId))
            .setStartTimeUnixNano(childStart).setEndTimeUnixNano(childStart + childDuration);
        switch (k % 4) {
          case 1 -> {
            String table = TABLES[rnd.nextInt(TABLES.length)];
            child.setName("SELECT shop." + table).setKind(Span.SpanKind.SPAN_KIND_CLIENT)
                .addAttributes(kv("db.system.name", "postgresql"))
                .addAttributes(kv("db.namespace", "shop"))
                .addAttributes(kv("db.collection.name", table))
                .addAttributes(kv("db.operation.name", "SELECT"))
                .addAttributes(kv("db.query.text", "SELECT * FROM " + table + " WHERE id = ? AND tenant = ?"))
                .addAttributes(kv("db.response.returned_rows", rnd.nextInt(50)))
                .addAttributes(kv("server.address", "db.shop.internal"))
                .addAttributes(kv("server.port", 5432))
                .addAttributes(kv("network.peer.address", "192.0.2." + (1 + rnd.nextInt(254))))
                .addAttributes(kv("db.pool.hit", rnd.nextBoolean()));
            jdbc.addSpans(child);
          }
          case 2 -> {
            String peer = SERVICES[rnd.nextInt(SERVICES.length)];
            child.setName("POST").setKind(Span.SpanKind.SPAN_KIND_CLIENT)
                .addAttributes(kv("http.request.method", "POST"))
                .addAttributes(kv("url.full", "http://" + peer + ".shop.internal:8080/api/" + peer))
                .addAttributes(kv("server.address", peer + ".shop.internal"))
                .addAttributes(kv("server.port", 8080))
                .addAttributes(kv("http.response.status_code", 200))
                .addAttributes(kv("network.protocol.version", "1.1"))
                .addAttributes(kv("http.request.resend_count", rnd.nextInt(3)))
                .addAttributes(kv("http.request.body.size", 64 + rnd.nextInt(4096)))
                .addAttributes(kv("app.retry.backoff_s", rnd.nextDouble()));
            if (rnd.nextInt(4) == 0) {
              child.addEvents(event(childStart + childDuration / 2, "http.retry", kv("http.request.resend_count", 1)));
            }
            http.addSpans(child);
          }
          case 3 -> {
            child.setName("publish order-events").setKind(rnd.nextBoolean()
                    ? Span.SpanKind.SPAN_KIND_PRODUCER : Span.SpanKind.SPAN_KIND_CONSUMER)
                .addAttributes(kv("messaging.system", "kafka"))
                .addAttributes(kv("messaging.destination.name", "order-events"))
                .addAttributes(kv("messaging.operation.type", "publish"))
                .addAttributes(kv("messaging.message.id", Long.toHexString(rnd.nextLong())))
                .addAttributes(kv("messaging.batch.message_count", 1 + rnd.nextInt(20)))
                .addAttributes(kv("messaging.message.body.size", 128 + rnd.nextInt(2048)))
                .addAttributes(kv("server.address", "kafka.shop.internal"))
                .addAttributes(kv("server.port", 9092));
            app.addSpans(child);
          }
          default -> {
            child.setName("OrderService.process").setKind(Span.SpanKind.SPAN_KIND_INTERNAL)
                .addAttributes(kv("code.function.name", "dev.sidecars.shop.OrderService.process"))
                .addAttributes(kv("code.line.number", 40 + rnd.nextInt(400)))
                .addAttributes(kv("thread.name", "worker-" + rnd.nextInt(16)))
                .addAttributes(kv("thread.id", 20 + rnd.nextInt(200)))
                .addAttributes(kv("app.order.total", Math.round(rnd.nextDouble() * 50_000) / 100.0))
                .addAttributes(kv("app.order.items", 1 + rnd.nextInt(12)))
                .addAttributes(kv("app.currency", "EUR"))
                .addAttributes(kv("app.coupon.applied", rnd.nextInt(5) == 0));
            if (rnd.nextInt(3) == 0) {
              child.addEvents(event(childStart + childDuration / 3, "cache.miss", kv("app.cache.key", "order")));
            }
            app.addSpans(child);
          }
        }
      }
      made += size;
    }

    ResourceSpans.Builder rs = ResourceSpans.newBuilder().setResource(resource)
        .setSchemaUrl("https://opentelemetry.io/schemas/1.26.0");
    for (ScopeSpans.Builder s : List.of(http, jdbc, app)) {
      if (s.getSpansCount() > 0) {
        rs.addScopeSpans(s);
      }
    }
    byte[] body = ExportTraceServiceRequest.newBuilder().addResourceSpans(rs).build().toByteArray();
    return new Template(body, traceIdOffsets(body, traceIds, o.spansPerBatch()));
  }

  /**
   * Finds every span's trace id in the encoded request. Ids are random, so a match on tag, length and all
   * 16 bytes is a trace_id field; the count is checked so a mismatch fails loudly, not silently.
   */
  static int[][] traceIdOffsets(byte[] body, List<byte[]> traceIds, int expected) {
    Map<Long, Integer> byHigh = new HashMap<>();
    for (int i = 0; i < traceIds.size(); i++) {
      byHigh.put((long) LONG_BE.get(traceIds.get(i), 0), i);
    }
    List<List<Integer>> found = new ArrayList<>();
    traceIds.forEach(t -> found.add(new ArrayList<>()));
    int total = 0;
    for (int i = 0; i + 18 <= body.length; i++) {
      if (body[i] != TRACE_ID_TAG || body[i + 1] != TRACE_ID_LEN) {
        continue;
      }
      Integer trace = byHigh.get((long) LONG_BE.get(body, i + 2));
      if (trace != null && Arrays.equals(body, i + 2, i + 18, traceIds.get(trace), 0, 16)) {
        found.get(trace).add(i + 2);
        total++;
        i += 17;
      }
    }
    if (total != expected) {
      throw new IllegalStateException("found " + total + " trace ids in a request of " + expected + " spans");
    }
    int[][] offsets = new int[found.size()][];
    for (int i = 0; i < found.size(); i++) {
      offsets[i] = found.get(i).stream().mapToInt(Integer::intValue).toArray();
    }
    return offsets;
  }

  private static byte[] spanId(SplittableRandom rnd) {
    byte[] id = new byte[8];
    fill(rnd, id);
    id[0] |= 1; // never the invalid all-zero id
    return id;
  }

  private static void fill(SplittableRandom rnd, byte[] b) {
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) rnd.nextInt(256);
    }
    b[0] |= 1;
  }

  private static Span.Event event(long time, String name, KeyValue attribute) {
    return Span.Event.newBuilder().setTimeUnixNano(time).setName(name).addAttributes(attribute).build();
  }

  private static Span.Event exception(long time, String type, String message) {
    return Span.Event.newBuilder().setTimeUnixNano(time).setName("exception")
        .addAttributes(kv("exception.type", type))
        .addAttributes(kv("exception.message", message))
        .build();
  }

  private static KeyValue kv(String key, String value) {
    return KeyValue.newBuilder().setKey(key).setValue(AnyValue.newBuilder().setStringValue(value)).build();
  }

  private static KeyValue kv(String key, long value) {
    return KeyValue.newBuilder().setKey(key).setValue(AnyValue.newBuilder().setIntValue(value)).build();
  }

  private static KeyValue kv(String key, double value) {
    return KeyValue.newBuilder().setKey(key).setValue(AnyValue.newBuilder().setDoubleValue(value)).build();
  }

  private static KeyValue kv(String key, boolean value) {
    return KeyValue.newBuilder().setKey(key).setValue(AnyValue.newBuilder().setBoolValue(value)).build();
  }
}
