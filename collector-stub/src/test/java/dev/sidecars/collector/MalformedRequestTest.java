package dev.sidecars.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.rpc.Status;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.http.HttpResponse;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bad requests get the right 4xx with a {@code google.rpc.Status} body, are counted as rejected, store
 * nothing, and leave the stub serving.
 */
class MalformedRequestTest {
  private static final long LIMIT = 64 * 1024;
  private static CollectorStub stub;

  @BeforeAll
  static void start() {
    stub = CollectorStub.start(CollectorStubConfig.builder().freePorts().maxBodyBytes(LIMIT).build());
  }

  @AfterAll
  static void stop() {
    stub.close();
  }

  /** After every refusal the stub must still take a good request. */
  @AfterEach
  void stillServes() throws Exception {
    stub.reset();
    HttpResponse<byte[]> ok = post(validRequest(3).toByteArray(), "application/x-protobuf");
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ExportTraceServiceResponse.parseFrom(ok.body()).hasPartialSuccess()).isFalse();
    assertThat(stub.store().spans().size()).isEqualTo(3);
    stub.reset();
  }

  static ExportTraceServiceRequest validRequest(int spans) {
    ScopeSpans.Builder scope = ScopeSpans.newBuilder();
    for (int i = 0; i < spans; i++) {
      scope.addSpans(Span.newBuilder()
          .setTraceId(ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, (byte) i}))
          .setSpanId(ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, 7, (byte) (i + 1)}))
          .setName("span-" + i)
          .setStartTimeUnixNano(1_000)
          .setEndTimeUnixNano(2_000));
    }
    return ExportTraceServiceRequest.newBuilder().addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(scope)).build();
  }

  private static HttpResponse<byte[]> post(byte[] body, String contentType, String... headers) {
    return Http.post(stub.otlpHttpUrl() + "/v1/traces", contentType, body, headers);
  }

  private static void assertRefused(HttpResponse<byte[]> response, int status, String messagePart) throws Exception {
    assertThat(response.statusCode()).isEqualTo(status);
    assertThat(Status.parseFrom(response.body()).getMessage()).contains(messagePart);
    assertThat(stub.store().spans().size()).isZero();
  }

  @Test
  void malformedProtobufIs400() throws Exception {
    long rejectedBefore = stub.stats().rejected();
    byte[] truncated = Arrays.copyOf(validRequest(5).toByteArray(), 37);
    assertRefused(post(truncated, "application/x-protobuf"), 400, "malformed protobuf");
    assertThat(stub.stats().rejected()).isEqualTo(rejectedBefore + 1);
  }

  @Test
  void gzipBodiesAreAcceptedAndTruncatedGzipIs400() throws Exception {
    byte[] gz = Http.gzip(validRequest(2).toByteArray());
    assertThat(post(gz, "application/x-protobuf", "Content-Encoding", "gzip").statusCode()).isEqualTo(200);
    assertThat(stub.store().spans().size()).isEqualTo(2);
    stub.reset();

    byte[] truncated = Arrays.copyOf(gz, gz.length - 12);
    assertRefused(post(truncated, "application/x-protobuf", "Content-Encoding", "gzip"), 400, "gzip");
    assertRefused(post(new byte[] {1, 2, 3, 4}, "application/x-protobuf", "Content-Encoding", "gzip"), 400, "gzip");
  }

  @Test
  void wrongContentTypeIs415AndUnknownEncodingToo() throws Exception {
    assertRefused(post(validRequest(1).toByteArray(), "text/plain"), 415, "Content-Type");
    assertRefused(post(validRequest(1).toByteArray(), null), 415, "Content-Type");
    assertRefused(post(validRequest(1).toByteArray(), "application/x-protobuf", "Content-Encoding", "br"), 415, "Content-Encoding");
  }

  @Test
  void oversizedBodyIs413WhetherDeclaredOrOnlySeenAfterDecompression() throws Exception {
    byte[] big = new byte[(int) LIMIT + 1];
    assertRefused(post(big, "application/x-protobuf"), 413, "exceeds the limit");

    // Small on the wire, too large once inflated: the limit counts decompressed bytes.
    byte[] bomb = Http.gzip(new byte[(int) LIMIT * 4]);
    assertThat(bomb.length).isLessThan((int) LIMIT);
    assertRefused(post(bomb, "application/x-protobuf", "Content-Encoding", "gzip"), 413, "exceeds the limit");
  }

  @Test
  void otherMethodsAndPathsAreRefused() {
    HttpResponse<byte[]> get = Http.get(stub.otlpHttpUrl() + "/v1/traces");
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(get.headers().firstValue("Allow")).hasValue("POST, OPTIONS");
    assertThat(Http.post(stub.otlpHttpUrl() + "/v1/profiles-or-anything", "application/x-protobuf", new byte[0]).statusCode())
        .isEqualTo(404);
  }

  @Test
  void anEmptyBodyIsAnEmptyExport() {
    assertThat(post(new byte[0], "application/x-protobuf").statusCode()).isEqualTo(200);
    assertThat(post(new byte[0], "application/json").statusCode()).isEqualTo(200);
  }

  @Test
  void malformedJsonIs400() throws Exception {
    HttpResponse<byte[]> response = post("{\"resourceSpans\": [".getBytes(), "application/json");
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(Http.json(response).path("message").asText()).startsWith("malformed JSON");
    HttpResponse<byte[]> notObject = post("[1,2]".getBytes(), "application/json");
    assertThat(notObject.statusCode()).isEqualTo(400);
    HttpResponse<byte[]> wrongType = post("{\"resourceSpans\": 5}".getBytes(), "application/json");
    assertThat(wrongType.statusCode()).isEqualTo(400);
  }

  @Test
  void corsPreflightAndResponseHeadersLetBrowsersSend() {
    HttpResponse<byte[]> preflight = Http.request("OPTIONS", stub.otlpHttpUrl() + "/v1/traces", null,
        "Origin", "http://app.example", "Access-Control-Request-Method", "POST",
        "Access-Control-Request-Headers", "content-type,x-custom");
    assertThat(preflight.statusCode()).isEqualTo(204);
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).hasValue("*");
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Methods").orElse("")).contains("POST");
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Headers")).hasValue("content-type,x-custom");

    HttpResponse<byte[]> post = post(validRequest(1).toByteArray(), "application/x-protobuf", "Origin", "http://app.example");
    assertThat(post.statusCode()).isEqualTo(200);
    assertThat(post.headers().firstValue("Access-Control-Allow-Origin")).hasValue("*");
    stub.reset();
  }
}
