package dev.sidecars.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.rpc.Status;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What an attacker or a real exporter's large batch did to the collector-stub (issue 16), black-box over
 * real sockets against the stub started as its main starts it: the status (or gRPC code), what reached the
 * store, the counters of {@code /api/stats}, and that the next request is unharmed.
 */
class HardeningTest {
  private CollectorStub stub;

  @AfterEach
  void stop() {
    if (stub != null) {
      stub.close();
    }
  }

  private void start(CollectorStubConfig.Builder config) {
    stub = CollectorStub.start(config.freePorts().build());
  }

  @Test
  void validBodiesOverUndertowsTwoMibDefaultAreStored() throws Exception {
    start(CollectorStubConfig.builder());
    ExportTraceServiceRequest large = spans(12_000, 300); // about 4 MiB
    assertThat(large.getSerializedSize()).isGreaterThan(3 << 20);
    HttpResponse<byte[]> response = Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", large.toByteArray());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(stub.store().spans().size()).isEqualTo(12_000);

    // The same without a declared length (chunked), and gzip-compressed, as SDK exporters may send it.
    stub.reset();
    String chunked = rawPost("/v1/traces", "application/x-protobuf", null, large.toByteArray());
    assertThat(status(chunked)).isEqualTo(200);
    assertThat(stub.store().spans().size()).isEqualTo(12_000);
    stub.reset();
    String gzipped = rawPost("/v1/traces", "application/x-protobuf", "gzip", gzip(large.toByteArray()));
    assertThat(status(gzipped)).isEqualTo(200);
    assertThat(stub.store().spans().size()).isEqualTo(12_000);
  }

  @Test
  void bodiesOverTheLimitStillGet413WithAReason() throws Exception {
    start(CollectorStubConfig.builder().maxBodyBytes(1 << 20));
    byte[] body = spans(4_000, 300).toByteArray();
    HttpResponse<byte[]> declared = Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", body);
    assertThat(declared.statusCode()).isEqualTo(413);
    assertThat(Status.parseFrom(declared.body()).getMessage()).contains("exceeds the limit");
    String chunked = rawPost("/v1/traces", "application/x-protobuf", null, body);
    assertThat(status(chunked)).isEqualTo(413);
    assertThat(stub.store().spans().size()).isZero();
    assertThat(Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", spans(3, 10).toByteArray()).statusCode())
        .isEqualTo(200);
  }

  /** A body that takes the only decode slot keeps others waiting, then answered 503 with Retry-After. */
  @Test
  void compressedBodiesAreDecodedAFewAtATime() throws Exception {
    start(CollectorStubConfig.builder().maxConcurrentDecodes(1));
    long refusedBefore = stub.stats().rejected();
    byte[] compressed = gzip(spans(50, 10).toByteArray());
    try (Socket slow = new Socket("127.0.0.1", URI.create(stub.otlpHttpUrl()).getPort())) {
      // Half a gzip body, the rest never comes: its request holds the slot.
      OutputStream out = slow.getOutputStream();
      out.write(("POST /v1/traces HTTP/1.1\r\nHost: stub\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\n"
          + "Content-Length: " + compressed.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(compressed, 0, compressed.length / 2);
      out.flush();

      // Once the slow one holds the slot (its handler runs on a worker thread), another waits, then gets 503.
      HttpResponse<byte[]> waited = await().atMost(Duration.ofSeconds(30)).until(() -> Http.post(
          stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", compressed, "Content-Encoding", "gzip"),
          r -> r.statusCode() == 503);
      assertThat(waited.headers().firstValue("Retry-After")).hasValue("1");
      assertThat(Status.parseFrom(waited.body()).getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE.value());
      assertThat(stub.stats().rejected()).isGreaterThan(refusedBefore);
      // Small identity bodies, what exporters mostly send, need no slot.
      assertThat(Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", spans(3, 10).toByteArray())
          .statusCode()).isEqualTo(200);
    }
    // The slow client gone, its slot comes back.
    await().atMost(Duration.ofSeconds(10)).until(() -> Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf",
        compressed, "Content-Encoding", "gzip").statusCode() == 200);
  }

  @Test
  void grpcGarbageGetsInvalidArgumentNotUnknown() {
    start(CollectorStubConfig.builder());
    ManagedChannel channel = ManagedChannelBuilder.forTarget(stub.otlpGrpcUrl().replace("http://", "")).usePlaintext().build();
    try {
      MethodDescriptor<byte[], byte[]> raw = TraceServiceGrpc.getExportMethod().toBuilder(BYTES, BYTES).build();
      assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, raw, CallOptions.DEFAULT.withDeadlineAfter(10,
          java.util.concurrent.TimeUnit.SECONDS), new byte[] {0x0a, 0x7f, 1, 2, 3}))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).startsWith("malformed protobuf").doesNotContain("\tat ");
          });
      // Spans whose ids have the wrong length, as well formed protobuf.
      byte[] shortIds = badIds().toByteArray();
      assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, raw, CallOptions.DEFAULT, shortIds))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("traceId has 4 bytes");
          });
      assertThat(stub.store().spans().size()).isZero();
      TraceServiceGrpc.newBlockingStub(channel).export(spans(2, 10));
      assertThat(stub.store().spans().size()).isEqualTo(2);
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void protobufSpansWithIdsOfTheWrongLengthGet400AsJsonOnesDo() throws Exception {
    start(CollectorStubConfig.builder());
    HttpResponse<byte[]> response = Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", badIds().toByteArray());
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(Status.parseFrom(response.body()).getMessage()).contains("traceId has 4 bytes");
    assertThat(stub.store().spans().size()).isZero();
    assertThat(Http.post(stub.otlpHttpUrl() + "/v1/traces", "application/x-protobuf", spans(2, 10).toByteArray()).statusCode())
        .isEqualTo(200);
  }

  @Test
  void faultsAreScriptedOnlyAsJsonAndNeverFromAnotherOrigin() {
    start(CollectorStubConfig.builder());
    String faults = stub.uiUrl() + "/api/faults";
    String fault = "{\"signal\":\"traces\",\"status\":503,\"times\":1}";
    // What a page on another site can send without a preflight: text/plain.
    assertThat(Http.request("POST", faults, fault, "Content-Type", "text/plain").statusCode()).isEqualTo(415);
    assertThat(Http.request("POST", faults, fault, "Content-Type", "application/json", "Origin", "http://evil.example")
        .statusCode()).isEqualTo(403);
    assertThat(Http.request("POST", faults, fault, "Content-Type", "application/json", "Sec-Fetch-Site", "cross-site")
        .statusCode()).isEqualTo(403);
    assertThat(Http.request("DELETE", stub.uiUrl() + "/api/data", null, "Origin", "http://evil.example").statusCode())
        .isEqualTo(403);
    assertThat(stub.faults().list()).isEmpty();

    // Same origin, or no browser at all: accepted.
    String self = stub.uiUrl();
    assertThat(Http.request("POST", faults, fault, "Content-Type", "application/json", "Origin", self).statusCode())
        .isEqualTo(201);
    assertThat(Http.request("POST", faults, fault, "Content-Type", "application/json; charset=utf-8").statusCode())
        .isEqualTo(201);
    assertThat(stub.faults().list()).hasSize(2);
  }

  @Test
  void theDecodeBoundIsValidatedAtStart() throws Exception {
    Process process = CollectorStubProcessTest.launch(Map.of("STUB_MAX_CONCURRENT_DECODES", "0", "OTLP_HTTP_PORT", "0",
        "OTLP_GRPC_PORT", "0", "UI_PORT", "0"));
    try {
      assertThat(process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      assertThat(process.exitValue()).isEqualTo(2);
      assertThat(new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8))
          .contains("collector-stub: STUB_MAX_CONCURRENT_DECODES=\"0\": expected");
    } finally {
      process.destroyForcibly();
    }
  }

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private static ExportTraceServiceRequest spans(int count, int nameLength) {
    ScopeSpans.Builder scope = ScopeSpans.newBuilder();
    String name = "x".repeat(nameLength);
    for (int i = 0; i < count; i++) {
      byte[] trace = new byte[16];
      Arrays.fill(trace, (byte) 7);
      trace[15] = (byte) i;
      trace[14] = (byte) (i >> 8);
      scope.addSpans(Span.newBuilder().setTraceId(ByteString.copyFrom(trace))
          .setSpanId(ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, (byte) (i >> 8), (byte) i}))
          .setName(name).setStartTimeUnixNano(1_000).setEndTimeUnixNano(2_000));
    }
    return ExportTraceServiceRequest.newBuilder().addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(scope)).build();
  }

  private static ExportTraceServiceRequest badIds() {
    return ExportTraceServiceRequest.newBuilder().addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(
        ScopeSpans.newBuilder().addSpans(Span.newBuilder().setTraceId(ByteString.copyFrom(new byte[] {1, 2, 3, 4}))
            .setSpanId(ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, 7, 8})).setName("short")))).build();
  }

  private static byte[] gzip(byte[] body) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
      gzip.write(body);
    }
    return out.toByteArray();
  }

  /**
   * A chunked POST over a raw socket, written by a thread of its own while the answer is read (a refusal may
   * come, and the connection close, before the body is all sent); returns what was read.
   */
  private String rawPost(String path, String contentType, String encoding, byte[] body) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", URI.create(stub.otlpHttpUrl()).getPort())) {
      socket.setSoTimeout(30_000);
      Thread writer = new Thread(() -> {
        try {
          OutputStream out = socket.getOutputStream();
          out.write(("POST " + path + " HTTP/1.1\r\nHost: stub\r\nContent-Type: " + contentType + "\r\n"
              + (encoding == null ? "" : "Content-Encoding: " + encoding + "\r\n")
              + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
          for (int from = 0; from < body.length; from += 65536) {
            int length = Math.min(65536, body.length - from);
            out.write((Integer.toHexString(length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(body, from, length);
            out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
          }
          out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
        } catch (IOException e) {
          // the stub answered and closed before the body was all sent
        }
      });
      writer.start();
      ByteArrayOutputStream response = new ByteArrayOutputStream();
      try {
        socket.getInputStream().transferTo(response);
      } catch (java.net.SocketException e) {
        // a reset after the answer
      }
      writer.join(30_000);
      return response.toString(StandardCharsets.ISO_8859_1);
    }
  }

  private static int status(String response) {
    return response.startsWith("HTTP/1.1 ") ? Integer.parseInt(response.substring(9, 12)) : -1;
  }
}
