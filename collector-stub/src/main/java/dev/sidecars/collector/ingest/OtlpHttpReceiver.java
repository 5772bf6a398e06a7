package dev.sidecars.collector.ingest;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.Status;
import dev.sidecars.collector.Signal;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RequestTooBigException;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * OTLP/HTTP on {@code /v1/traces}, {@code /v1/metrics} and {@code /v1/logs}: protobuf or JSON chosen by
 * {@code Content-Type} and answered in kind, gzip or not, bounded after decompression, with CORS for
 * browser senders. Every failure is a 4xx with a {@code google.rpc.Status} body; none reaches the store.
 *
 * <p>A body is read whole before it is decoded, so the heap it takes is bounded twice: each body by the limit
 * (counted after decompression), and the bodies read at once by {@code decodeSlots}. A gzip body, or one of
 * unknown or large length, takes a slot while it is read and decoded; one that finds none free within a
 * short wait is answered 503 with {@code Retry-After}, which OTLP exporters retry. Small identity bodies,
 * what SDK exporters mostly send, need none.
 */
public final class OtlpHttpReceiver implements HttpHandler {
  private static final Logger log = Logger.getLogger(OtlpHttpReceiver.class.getName());
  static final String PROTOBUF = "application/x-protobuf";
  static final String JSON = "application/json";
  private static final HttpString ALLOW_ORIGIN = new HttpString("Access-Control-Allow-Origin");
  private static final HttpString ALLOW_METHODS = new HttpString("Access-Control-Allow-Methods");
  private static final HttpString ALLOW_HEADERS = new HttpString("Access-Control-Allow-Headers");
  private static final HttpString REQUEST_HEADERS = new HttpString("Access-Control-Request-Headers");
  private static final HttpString MAX_AGE = new HttpString("Access-Control-Max-Age");
  private static final HttpString EXPOSE_HEADERS = new HttpString("Access-Control-Expose-Headers");

  /** Bodies up to this size, declared and not compressed, are read without a decode slot. */
  private static final long SMALL_BODY_BYTES = 1 << 20;
  /** How long a large or compressed body waits for a decode slot before 503. */
  private static final long SLOT_WAIT_MILLIS = 2000;

  private final Ingest ingest;
  private final long maxBodyBytes;
  private final List<String> allowedOrigins;
  private final Semaphore decodeSlots;

  /**
   * @param maxBodyBytes the largest body accepted, counted after decompression
   * @param allowedOrigins browser origins allowed by CORS; {@code *} allows any
   * @param decodeSlots large or compressed bodies read and decoded at once
   */
  public OtlpHttpReceiver(Ingest ingest, long maxBodyBytes, List<String> allowedOrigins, int decodeSlots) {
    this.ingest = ingest;
    this.maxBodyBytes = maxBodyBytes;
    this.allowedOrigins = List.copyOf(allowedOrigins);
    this.decodeSlots = new Semaphore(decodeSlots);
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    Optional<Signal> signal = signalOf(exchange.getRelativePath());
    if (signal.isEmpty()) {
      plain(exchange, 404, "not found: OTLP/HTTP serves POST /v1/traces, /v1/metrics and /v1/logs");
      return;
    }
    boolean corsAllowed = cors(exchange);
    HttpString method = exchange.getRequestMethod();
    if (method.equals(Methods.OPTIONS)) {
      preflight(exchange, corsAllowed);
      return;
    }
    if (!method.equals(Methods.POST)) {
      exchange.getResponseHeaders().put(Headers.ALLOW, "POST, OPTIONS");
      refuse(exchange, PROTOBUF, 405, "method " + method + " not allowed: use POST");
      return;
    }
    HeaderMap headers = exchange.getRequestHeaders();
    String mediaType = mediaType(headers.getFirst(Headers.CONTENT_TYPE));
    if (!mediaType.equals(PROTOBUF) && !mediaType.equals(JSON)) {
      refuse(exchange, PROTOBUF, 415,
          "unsupported Content-Type \"" + headers.getFirst(Headers.CONTENT_TYPE)
              + "\": use application/x-protobuf or application/json");
      return;
    }
    String encoding = Optional.ofNullable(headers.getFirst(Headers.CONTENT_ENCODING)).orElse("identity")
        .trim().toLowerCase(Locale.ROOT);
    if (!encoding.equals("gzip") && !encoding.equals("identity")) {
      refuse(exchange, mediaType, 415, "unsupported Content-Encoding \"" + encoding + "\": use gzip or none");
      return;
    }
    long declared = exchange.getRequestContentLength();
    if (declared > maxBodyBytes) {
      tooLarge(exchange, mediaType);
      return;
    }
    if (exchange.isInIoThread()) {
      exchange.dispatch(this);
      return;
    }
    boolean gzip = encoding.equals("gzip");
    boolean needsSlot = gzip || declared < 0 || declared > SMALL_BODY_BYTES;
    if (needsSlot && !decodeSlots.tryAcquire(SLOT_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
      ingest.stats().refusedEarly();
      exchange.getResponseHeaders().put(Headers.RETRY_AFTER, "1");
      exchange.getResponseHeaders().put(Headers.CONNECTION, "close"); // the body is not read
      exchange.setPersistent(false);
      send(exchange, mediaType, 503, status(io.grpc.Status.Code.UNAVAILABLE.value(),
          "too many large or compressed requests are being decoded; retry"));
      return;
    }
    try {
      exchange.startBlocking();
      byte[] body;
      try {
        body = readBody(exchange.getInputStream(), gzip, declared);
      } catch (BodyTooLargeException | RequestTooBigException e) {
        tooLarge(exchange, mediaType);
        return;
      } catch (ZipException | EOFException e) {
        refuse(exchange, mediaType, 400, "malformed gzip body: " + (e instanceof EOFException ? "truncated" : e.getMessage()));
        return;
      }
      Outcome outcome;
      try {
        outcome = switch (signal.get()) {
          case TRACES -> mediaType.equals(PROTOBUF)
              ? ingest.traces(SpanFrames.read(body))
              : ingest.traces((ExportTraceServiceRequest) decode(body, mediaType, ExportTraceServiceRequest.newBuilder()));
          case METRICS -> ingest.metrics(decode(body, mediaType, ExportMetricsServiceRequest.newBuilder()));
          case LOGS -> ingest.logs(decode(body, mediaType, ExportLogsServiceRequest.newBuilder()));
        };
      } catch (MalformedRequestException e) {
        refuse(exchange, mediaType, 400, e.getMessage());
        return;
      }
      answer(exchange, mediaType, signal.get(), outcome);
    } finally {
      if (needsSlot) {
        decodeSlots.release();
      }
    }
  }

  private void answer(HttpServerExchange exchange, String mediaType, Signal signal, Outcome outcome) {
    if (outcome instanceof Outcome.Refused refused) {
      refused.retryAfterSeconds()
          .ifPresent(s -> exchange.getResponseHeaders().put(Headers.RETRY_AFTER, Integer.toString(s)));
      send(exchange, mediaType, refused.httpStatus(), status(refused.grpcCode().value(), refused.message()));
    } else {
      send(exchange, mediaType, 200, response(signal, (Outcome.Accepted) outcome));
    }
  }

  private static Optional<Signal> signalOf(String path) {
    String p = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    return p.startsWith("/v1/") ? Signal.fromPathName(p.substring(4)) : Optional.empty();
  }

  @SuppressWarnings("unchecked")
  private static <T extends Message> T decode(byte[] body, String mediaType, Message.Builder builder)
      throws MalformedRequestException {
    if (mediaType.equals(JSON)) {
      OtlpJson.merge(body, builder);
      return (T) builder.build();
    }
    try {
      return (T) builder.mergeFrom(body).build();
    } catch (InvalidProtocolBufferException e) {
      throw new MalformedRequestException("malformed protobuf: " + e.getMessage());
    }
  }

  private byte[] readBody(InputStream raw, boolean gzip, long declared) throws IOException {
    InputStream in = gzip ? new GZIPInputStream(raw, 64 * 1024) : raw;
    // An identity body of known length is read into an array of its size, not one grown by doubling.
    ByteArrayOutputStream out = new ByteArrayOutputStream(!gzip && declared > 0 ? (int) declared : 16 * 1024);
    byte[] buffer = new byte[64 * 1024];
    long total = 0;
    for (int n; (n = in.read(buffer)) != -1; ) {
      total += n;
      if (total > maxBodyBytes) {
        throw new BodyTooLargeException();
      }
      out.write(buffer, 0, n);
    }
    return out.toByteArray();
  }

  private static final class BodyTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;
  }

  private void tooLarge(HttpServerExchange exchange, String mediaType) {
    ingest.stats().refusedEarly();
    // The rest of an oversized body is not worth reading just to keep the connection.
    exchange.getResponseHeaders().put(Headers.CONNECTION, "close");
    exchange.setPersistent(false);
    send(exchange, mediaType, 413,
        status(io.grpc.Status.Code.RESOURCE_EXHAUSTED.value(),
            "request body exceeds the limit of " + maxBodyBytes + " bytes (after decompression)"));
  }

  private void refuse(HttpServerExchange exchange, String mediaType, int httpStatus, String message) {
    ingest.stats().refusedEarly();
    log.log(Level.FINE, "refused OTLP request: {0}", message);
    int code = httpStatus == 400 ? io.grpc.Status.Code.INVALID_ARGUMENT.value()
        : httpStatus == 415 || httpStatus == 405 ? io.grpc.Status.Code.UNIMPLEMENTED.value()
        : io.grpc.Status.Code.INTERNAL.value();
    send(exchange, mediaType, httpStatus, status(code, message));
  }

  private static Status status(int grpcCode, String message) {
    return Status.newBuilder().setCode(grpcCode).setMessage(message).build();
  }

  private static Message response(Signal signal, Outcome.Accepted accepted) {
    return switch (signal) {
      case TRACES -> {
        ExportTraceServiceResponse.Builder b = ExportTraceServiceResponse.newBuilder();
        if (accepted.isPartial()) {
          b.setPartialSuccess(ExportTracePartialSuccess.newBuilder()
              .setRejectedSpans(accepted.rejected()).setErrorMessage(accepted.message()));
        }
        yield b.build();
      }
      case METRICS -> {
        ExportMetricsServiceResponse.Builder b = ExportMetricsServiceResponse.newBuilder();
        if (accepted.isPartial()) {
          b.setPartialSuccess(ExportMetricsPartialSuccess.newBuilder()
              .setRejectedDataPoints(accepted.rejected()).setErrorMessage(accepted.message()));
        }
        yield b.build();
      }
      case LOGS -> {
        ExportLogsServiceResponse.Builder b = ExportLogsServiceResponse.newBuilder();
        if (accepted.isPartial()) {
          b.setPartialSuccess(ExportLogsPartialSuccess.newBuilder()
              .setRejectedLogRecords(accepted.rejected()).setErrorMessage(accepted.message()));
        }
        yield b.build();
      }
    };
  }

  private static void send(HttpServerExchange exchange, String mediaType, int httpStatus, Message body) {
    exchange.setStatusCode(httpStatus);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, mediaType);
    if (mediaType.equals(JSON)) {
      exchange.getResponseSender().send(OtlpJson.print(body), StandardCharsets.UTF_8);
    } else {
      exchange.getResponseSender().send(ByteBuffer.wrap(body.toByteArray()));
    }
  }

  private static void plain(HttpServerExchange exchange, int status, String text) {
    exchange.setStatusCode(status);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
    exchange.getResponseSender().send(text, StandardCharsets.UTF_8);
  }

  static String mediaType(String contentType) {
    if (contentType == null) {
      return "";
    }
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
  }

  /** Adds the CORS response headers when the request's Origin is allowed; says whether it was. */
  private boolean cors(HttpServerExchange exchange) {
    String origin = exchange.getRequestHeaders().getFirst(Headers.ORIGIN);
    if (origin == null) {
      return false;
    }
    boolean any = allowedOrigins.contains("*");
    if (!any && !allowedOrigins.contains(origin)) {
      return false;
    }
    HeaderMap response = exchange.getResponseHeaders();
    response.put(ALLOW_ORIGIN, any ? "*" : origin);
    if (!any) {
      response.put(Headers.VARY, "Origin");
    }
    response.put(EXPOSE_HEADERS, "Retry-After");
    return true;
  }

  private static void preflight(HttpServerExchange exchange, boolean allowed) {
    if (!allowed) {
      exchange.setStatusCode(403);
      exchange.endExchange();
      return;
    }
    HeaderMap response = exchange.getResponseHeaders();
    response.put(ALLOW_METHODS, "POST, OPTIONS");
    String requested = exchange.getRequestHeaders().getFirst(REQUEST_HEADERS);
    response.put(ALLOW_HEADERS, requested != null ? requested : "Content-Type, Content-Encoding");
    response.put(MAX_AGE, "7200");
    exchange.setStatusCode(204);
    exchange.endExchange();
  }
}
