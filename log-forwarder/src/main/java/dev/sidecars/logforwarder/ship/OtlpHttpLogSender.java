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
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.Proxy;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URL;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPOutputStream;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;

/**
 * OTLP/HTTP protobuf over the JDK's blocking {@link HttpURLConnection}, configured from the same variables
 * and by the same SDK code as the SDK's own exporter ({@code OtlpConfigUtil}: endpoint and {@code
 * /v1/logs} rule, headers, compression, timeout, certificates). Sending the request ourselves is what
 * gives the forwarder the answer's headers ({@code Retry-After}) and body (partial success), which the
 * SDK exporter keeps to itself.
 *
 * <p>Blocking, not the JDK's asynchronous {@code HttpClient}: each shipper thread sends one request and
 * waits for its answer anyway, and the asynchronous client's selector thread, worker pool and stages of
 * futures cost a fifth of the forwarder's CPU at 100 MiB/s, where this writes the request array to the
 * socket as it is. Idle connections are kept by the JDK's keep-alive cache, one per sending thread.
 */
public final class OtlpHttpLogSender implements LogSender {
  /** The longest {@code Retry-After} honoured: a collector asking for more is asked again after this. */
  static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(5);
  private static final String DEFAULT_ENDPOINT = "http://localhost:4318/v1/logs";
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private final URL endpoint;
  private final SSLSocketFactory tls;
  private final Map<String, String> headers;
  private final boolean gzip;
  private final Duration timeout;
  private final String userAgent;
  private final ScheduledExecutorService deadlines;

  private OtlpHttpLogSender(URL endpoint, SSLSocketFactory tls, Map<String, String> headers, boolean gzip,
      Duration timeout, String userAgent) {
    this.endpoint = endpoint;
    this.tls = tls;
    this.headers = headers;
    this.gzip = gzip;
    this.timeout = timeout;
    this.userAgent = userAgent;
    ScheduledThreadPoolExecutor deadlines = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "log-forwarder-export-deadline");
      t.setDaemon(true);
      return t;
    });
    deadlines.setRemoveOnCancelPolicy(true); // one cancelled deadline per export must not pile up
    this.deadlines = deadlines;
  }

  /** Whether the SDK would export logs over OTLP/HTTP protobuf with this configuration (rather than gRPC). */
  public static boolean isHttpProtobuf(ConfigProperties config) {
    return OtlpConfigUtil.PROTOCOL_HTTP_PROTOBUF.equals(OtlpConfigUtil.getOtlpProtocol(OtlpConfigUtil.DATA_TYPE_LOGS, config));
  }

  /**
   * Reads the configuration as the SDK does; throws the SDK's ConfigurationException for bad values.
   * {@code exportsInFlight} is how many threads will send at once: the JDK keeps at most five idle
   * connections per destination unless told otherwise, and with more senders than that every export
   * beyond the fifth would open (and for TLS, negotiate) a connection of its own.
   */
  public static OtlpHttpLogSender create(ConfigProperties config, String userAgent, int exportsInFlight) {
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
    URL url;
    try {
      url = URI.create(endpoint.get()).toURL();
    } catch (MalformedURLException | IllegalArgumentException e) {
      throw new ConfigurationException("Invalid OTLP endpoint: " + endpoint.get(), e);
    }
    SSLSocketFactory tls = trusted.get() != null || clientTls.get() != null
        ? sslContext(trusted.get(), clientTls.get()).getSocketFactory()
        : null;
    keepIdleConnections(exportsInFlight);
    return new OtlpHttpLogSender(url, tls, Map.copyOf(headers), method.equals("gzip"), timeout.get(), userAgent);
  }

  // The JDK reads this once, at its first keep-alive; this sender is the process's only user of
  // HttpURLConnection (the SDK's exporters use the JDK's HttpClient), so raising it affects nothing
  // else. Never lowered.
  private static synchronized void keepIdleConnections(int connections) {
    String current = System.getProperty("http.maxConnections");
    int now = 5;
    if (current != null) {
      try {
        now = Integer.parseInt(current.trim());
      } catch (NumberFormatException e) {
        now = 5;
      }
    }
    if (connections > now) {
      System.setProperty("http.maxConnections", Integer.toString(connections));
    }
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

  /**
   * Sends the request and reads the answer, all within the timeout: a deadline closes the connection
   * when it passes, which ends a write to a collector that stopped reading as well as a wait for an
   * answer that does not come (the connection's own timeouts bound only each connect and each read).
   */
  @Override
  public SendResult send(byte[] request, int length, int records) throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException(); // blocking socket I/O would not notice: stop before starting
    }
    byte[] body = request;
    int bodyLength = length;
    if (gzip) {
      body = gzip(request, length);
      bodyLength = body.length;
    }
    HttpURLConnection connection;
    try {
      connection = (HttpURLConnection) endpoint.openConnection(Proxy.NO_PROXY);
    } catch (IOException e) {
      return SendResult.retry(e.toString());
    }
    if (tls != null && connection instanceof HttpsURLConnection https) {
      https.setSSLSocketFactory(tls);
    }
    int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    connection.setConnectTimeout((int) Math.min(millis, CONNECT_TIMEOUT.toMillis()));
    connection.setReadTimeout(millis);
    connection.setInstanceFollowRedirects(false);
    connection.setUseCaches(false);
    connection.setDoOutput(true);
    connection.setFixedLengthStreamingMode(bodyLength); // no buffered copy, and never resent by the JDK
    connection.setRequestProperty("Content-Type", "application/x-protobuf");
    connection.setRequestProperty("Accept", "application/x-protobuf");
    connection.setRequestProperty("User-Agent", userAgent);
    if (gzip) {
      connection.setRequestProperty("Content-Encoding", "gzip");
    }
    headers.forEach(connection::setRequestProperty);
    Deadline deadline = new Deadline(connection);
    ScheduledFuture<?> abort = deadlines.schedule(deadline, millis, TimeUnit.MILLISECONDS);
    try {
      try (OutputStream out = connection.getOutputStream()) {
        out.write(body, 0, bodyLength);
      }
      int status = connection.getResponseCode();
      byte[] answer = readAnswer(connection, status);
      ExportOutcome outcome = ExportOutcome.ofHttpStatus(status);
      if (outcome == ExportOutcome.ACCEPTED) {
        ExportLogsPartialSuccess partial = partialSuccess(answer);
        return SendResult.accepted(partial.getRejectedLogRecords(), partial.getErrorMessage());
      }
      Optional<Duration> retryAfter = Optional.ofNullable(connection.getHeaderField("Retry-After"))
          .flatMap(OtlpHttpLogSender::retryAfter);
      return new SendResult(outcome, 0, retryAfter, "HTTP " + status);
    } catch (IOException e) {
      connection.disconnect(); // a half-used connection must not go back to the keep-alive cache
      if (deadline.passed() || e instanceof SocketTimeoutException) {
        return SendResult.retry("no answer within " + timeout.toMillis() + " ms");
      }
      return SendResult.retry(e.toString());
    } finally {
      abort.cancel(false);
    }
  }

  @Override
  public String endpoint() {
    return endpoint.toString();
  }

  /** Closes the connection of an export that outlived its timeout. */
  private static final class Deadline implements Runnable {
    private final HttpURLConnection connection;
    private volatile boolean passed;

    Deadline(HttpURLConnection connection) {
      this.connection = connection;
    }

    @Override
    public void run() {
      passed = true;
      connection.disconnect();
    }

    boolean passed() {
      return passed;
    }
  }

  // Read to the end and closed, so the connection can be kept for the next export.
  private static byte[] readAnswer(HttpURLConnection connection, int status) throws IOException {
    InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
    if (in == null) {
      return new byte[0];
    }
    try (in) {
      return in.readAllBytes();
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
    deadlines.shutdownNow();
  }
}
