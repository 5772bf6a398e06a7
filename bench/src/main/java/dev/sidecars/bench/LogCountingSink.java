package dev.sidecars.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;

/**
 * An OTLP/HTTP logs receiver for benchmarks that keeps nothing: it decodes every {@code /v1/logs}
 * request in full (protobuf, gzip or not), counts the records and their body bytes, and answers
 * success. {@code GET /count} gives {@code records bodyBytes requests}. It exists so a benchmark of a
 * log shipper measures the shipper, not the receiver's store.
 *
 * <p>Usage: {@code java -cp bench.jar dev.sidecars.bench.LogCountingSink [port]}; prints {@code
 * log-counting-sink listening on otlp-http=PORT}.
 */
public final class LogCountingSink {
  private final AtomicLong records = new AtomicLong();
  private final AtomicLong bodyBytes = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private final byte[] ok = ExportLogsServiceResponse.getDefaultInstance().toByteArray();

  public static void main(String[] args) throws IOException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    LogCountingSink sink = new LogCountingSink();
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    server.createContext("/v1/logs", sink::logs);
    server.createContext("/count", sink::count);
    server.setExecutor(Executors.newFixedThreadPool(2));
    server.start();
    System.out.println("log-counting-sink listening on otlp-http=" + server.getAddress().getPort());
    System.out.flush();
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
      ExportLogsServiceRequest request;
      try {
        request = ExportLogsServiceRequest.parseFrom(body);
      } catch (IOException e) {
        exchange.sendResponseHeaders(400, -1);
        return;
      }
      long n = 0;
      long bytes = 0;
      for (ResourceLogs resource : request.getResourceLogsList()) {
        for (ScopeLogs scope : resource.getScopeLogsList()) {
          n += scope.getLogRecordsCount();
          for (var record : scope.getLogRecordsList()) {
            bytes += record.getBody().getStringValueBytes().size();
          }
        }
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
