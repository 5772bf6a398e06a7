package dev.sidecars.logforwarder.ship;

import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.exporter.internal.TlsUtil;
import io.opentelemetry.exporter.otlp.internal.OtlpConfigUtil;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPOutputStream;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;

/**
 * OTLP/HTTP protobuf with the JDK's HTTP client, configured from the same variables and by the same SDK
 * code as the SDK's own exporter ({@code OtlpConfigUtil}: endpoint and {@code /v1/logs} rule, headers,
 * compression, timeout, certificates). Sending the request ourselves is what gives the forwarder the
 * answer's headers ({@code Retry-After}) and body (partial success), which the SDK exporter keeps to
 * itself.
 */
public final class OtlpHttpLogSender implements LogSender {
  /** The longest {@code Retry-After} honoured: a collector asking for more is asked again after this. */
  static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(5);
  private static final String DEFAULT_ENDPOINT = "http://localhost:4318/v1/logs";
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private final HttpClient client;
  private final URI endpoint;
  private final Map<String, String> headers;
  private final boolean gzip;
  private final Duration timeout;
  private final String userAgent;

  private OtlpHttpLogSender(HttpClient client, URI endpoint, Map<String, String> headers, boolean gzip,
      Duration timeout, String userAgent) {
    this.client = client;
    this.endpoint = endpoint;
    this.headers = headers;
    this.gzip = gzip;
    this.timeout = timeout;
    this.userAgent = userAgent;
  }

  /** Whether the SDK would export logs over OTLP/HTTP protobuf with this configuration (rather than gRPC). */
  public static boolean isHttpProtobuf(ConfigProperties config) {
    return OtlpConfigUtil.PROTOCOL_HTTP_PROTOBUF.equals(OtlpConfigUtil.getOtlpProtocol(OtlpConfigUtil.DATA_TYPE_LOGS, config));
  }

  /** Reads the configuration as the SDK does; throws the SDK's ConfigurationException for bad values. */
  public static OtlpHttpLogSender create(ConfigProperties config, String userAgent) {
    AtomicReference<String> endpoint = new AtomicReference<>(DEFAULT_ENDPOINT);
    Map<String, String> headers = new LinkedHashMap<>();
    AtomicReference<String> compression = new AtomicReference<>("none");
    AtomicReference<Duration> timeout = new AtomicReference<>(Duration.ofSeconds(10));
    AtomicReference<byte[]> trusted = new AtomicReference<>();
    AtomicReference<byte[][]> clientTls = new AtomicReference<>();
    OtlpConfigUtil.configureOtlpExporterBuilder(
        OtlpConfigUtil.DATA_TYPE_LOGS,
        config,
        loader -> {},
        endpoint::set,
        headers::put,
        compression::set,
        timeout::set,
        trusted::set,
        (key, cert) -> clientTls.set(new byte[][] {key, cert}),
        retry -> {}, // the shipper retries itself
        memoryMode -> {},
        telemetryVersion -> {});
    String method = compression.get().toLowerCase(Locale.ROOT);
    if (!method.equals("gzip") && !method.equals("none")) {
      throw new ConfigurationException("Unsupported compression method \"" + compression.get() + "\": gzip or none");
    }
    HttpClient.Builder client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER);
    if (trusted.get() != null || clientTls.get() != null) {
      client.sslContext(sslContext(trusted.get(), clientTls.get()));
    }
    return new OtlpHttpLogSender(client.build(), URI.create(endpoint.get()), Map.copyOf(headers),
        method.equals("gzip"), timeout.get(), userAgent);
  }

  private static SSLContext sslContext(byte[] trustedPem, byte[][] clientTls) {
    try {
      X509TrustManager trust = trustedPem != null ? TlsUtil.trustManager(trustedPem) : TlsUtil.defaultTrustManager();
      KeyManager[] keys = null;
      if (clientTls != null) {
        X509KeyManager key = TlsUtil.keyManager(clientTls[0], clientTls[1]);
        keys = new KeyManager[] {key};
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys, new TrustManager[] {trust}, null);
      return context;
    } catch (Exception e) {
      throw new ConfigurationException("Could not use the OTLP certificates: " + e.getMessage(), e);
    }
  }

  /** The per-export timeout ({@code OTEL_EXPORTER_OTLP_(LOGS_)TIMEOUT}). */
  public Duration timeout() {
    return timeout;
  }

  public URI endpoint() {
    return endpoint;
  }

  @Override
  public SendResult send(byte[] request, int length, int records) throws InterruptedException {
    HttpRequest.Builder builder = HttpRequest.newBuilder(endpoint)
        .timeout(timeout)
        .header("Content-Type", "application/x-protobuf")
        .header("User-Agent", userAgent)
        .POST(gzip ? HttpRequest.BodyPublishers.ofByteArray(gzip(request, length)) : body(request, length));
    if (gzip) {
      builder.header("Content-Encoding", "gzip");
    }
    headers.forEach(builder::header);
    HttpResponse<byte[]> response;
    try {
      response = client.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (HttpTimeoutException e) {
      return SendResult.retry("no answer within " + timeout.toMillis() + " ms");
    } catch (IOException e) {
      return SendResult.retry(e.toString());
    }
    int status = response.statusCode();
    ExportOutcome outcome = ExportOutcome.ofHttpStatus(status);
    if (outcome == ExportOutcome.ACCEPTED) {
      ExportLogsPartialSuccess partial = partialSuccess(response.body());
      return SendResult.accepted(partial.getRejectedLogRecords(), partial.getErrorMessage());
    }
    Optional<Duration> retryAfter = response.headers().firstValue("Retry-After").flatMap(OtlpHttpLogSender::retryAfter);
    return new SendResult(outcome, 0, retryAfter, "HTTP " + status);
  }

  /**
   * The request's bytes as they are, in 64 KiB read-only views of the array. The JDK's {@code
   * ofByteArray} copies them into fresh 16 KiB buffers first: a second copy of every batch, and megabytes
   * of garbage per batch. Views, not one buffer over the whole request: the socket layer copies a heap
   * buffer into a temporary direct buffer of its size and keeps that per thread, which for megabyte
   * requests held several megabytes of native memory. The array is not reused before the collector has
   * answered (see {@link LogBatch#release()}).
   */
  static HttpRequest.BodyPublisher body(byte[] request, int length) {
    return HttpRequest.BodyPublishers.fromPublisher(
        subscriber -> subscriber.onSubscribe(new SlicedBody(subscriber, request, length)), length);
  }

  /** Hands a subscriber the views of an array as it asks for them (Reactive Streams rules: no re-entry). */
  private static final class SlicedBody implements Flow.Subscription {
    private static final int SLICE = 64 * 1024;
    private final Flow.Subscriber<? super ByteBuffer> subscriber;
    private final byte[] bytes;
    private final int length;
    private final AtomicLong demand = new AtomicLong();
    private final AtomicInteger work = new AtomicInteger();
    private volatile boolean done;
    private int position; // only the thread that drains touches it

    SlicedBody(Flow.Subscriber<? super ByteBuffer> subscriber, byte[] bytes, int length) {
      this.subscriber = subscriber;
      this.bytes = bytes;
      this.length = length;
    }

    @Override
    public void request(long n) {
      if (done) {
        return;
      }
      if (n <= 0) {
        done = true;
        subscriber.onError(new IllegalArgumentException("request(" + n + "): not positive"));
        return;
      }
      demand.getAndUpdate(d -> d + n < 0 ? Long.MAX_VALUE : d + n);
      drain();
    }

    @Override
    public void cancel() {
      done = true;
    }

    // One thread drains at a time; a request() from inside onNext only adds demand for that loop.
    private void drain() {
      if (work.getAndIncrement() != 0) {
        return;
      }
      int missed = 1;
      do {
        while (!done && position < length && demand.get() > 0) {
          int size = Math.min(SLICE, length - position);
          ByteBuffer slice = ByteBuffer.wrap(bytes, position, size).slice().asReadOnlyBuffer();
          position += size;
          demand.decrementAndGet();
          subscriber.onNext(slice);
        }
        if (!done && position >= length) {
          done = true;
          subscriber.onComplete();
        }
        missed = work.addAndGet(-missed);
      } while (missed != 0);
    }
  }

  private static ExportLogsPartialSuccess partialSuccess(byte[] body) {
    if (body == null || body.length == 0) {
      return ExportLogsPartialSuccess.getDefaultInstance();
    }
    try {
      return ExportLogsServiceResponse.parseFrom(body).getPartialSuccess();
    } catch (InvalidProtocolBufferException e) {
      return ExportLogsPartialSuccess.getDefaultInstance(); // not protobuf: nothing reported as rejected
    }
  }

  /** {@code Retry-After} as delay-seconds or an HTTP date, at most {@link #MAX_RETRY_AFTER}; empty if unreadable. */
  static Optional<Duration> retryAfter(String value) {
    String v = value.trim();
    Duration wait;
    if (!v.isEmpty() && v.chars().allMatch(Character::isDigit)) {
      wait = v.length() > 9 ? MAX_RETRY_AFTER : Duration.ofSeconds(Long.parseLong(v));
    } else {
      try {
        wait = Duration.between(Instant.now(), ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
      } catch (DateTimeParseException e) {
        return Optional.empty();
      }
    }
    if (wait.isNegative()) {
      wait = Duration.ZERO;
    }
    return Optional.of(wait.compareTo(MAX_RETRY_AFTER) > 0 ? MAX_RETRY_AFTER : wait);
  }

  private static byte[] gzip(byte[] bytes, int length) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(length / 4 + 64);
    try (GZIPOutputStream zip = new GZIPOutputStream(out, 64 * 1024)) {
      zip.write(bytes, 0, length);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // in memory: cannot happen
    }
    return out.toByteArray();
  }

  @Override
  public void shutdown() {
    // The JDK client keeps no threads past its last reference in Java 17 (no close() before Java 21).
  }
}
