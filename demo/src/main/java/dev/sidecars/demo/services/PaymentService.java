package dev.sidecars.demo.services;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.BytesValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.sun.net.httpserver.HttpExchange;
import dev.sidecars.runtime.config.Settings;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The payment service of the demo: {@code POST /payments} with a JSON object such as {@code {"amount":12.50}}
 * asks fraud-check about the payment (a gRPC call, {@link FraudCheckRpc#CHECK}) and answers 201 with the
 * verdict and the trace id, 400 when the body is not such an object, or 502 when fraud-check cannot answer.
 * It knows nothing of OpenTelemetry: it only forwards the {@code traceparent}, {@code tracestate} and
 * {@code baggage} headers it received, as its gRPC call's metadata, and calls fraud-check through its
 * trace-injector on {@code localhost}, naming {@code fraud-check} as the call's authority (the injector's
 * Host-header route).
 *
 * <p>Environment: {@code PORT} (default 8080; 0 picks a free one), {@code LOG_FILE} (default
 * {@code payment.log}), {@code FRAUD_CHECK_URL} (default {@code http://localhost:15002}: the trace-injector,
 * reached with a plaintext gRPC channel).
 */
public final class PaymentService {
  /** The name fraud-check has in the trace-injector's {@code UPSTREAMS}. */
  static final String FRAUD_CHECK_AUTHORITY = "fraud-check";

  private final JsonLog log;
  private final Channel fraudCheck;

  PaymentService(JsonLog log, Channel fraudCheck) {
    this.log = log;
    this.fraudCheck = fraudCheck;
  }

  public static void main(String[] args) {
    Settings env = Settings.fromEnvironment();
    int port = env.port("PORT", 8080);
    Path logFile = Path.of(env.string("LOG_FILE", "payment.log"));
    URI fraudCheck = URI.create(DemoServer.url(env, "FRAUD_CHECK_URL", "http://localhost:15002"));
    if ("https".equals(fraudCheck.getScheme())) {
      // The hop to the trace-injector on localhost is plaintext; TLS, if any, is the injector's business.
      env.problem("FRAUD_CHECK_URL", fraudCheck.toString(), "an http:// URL (the gRPC channel is plaintext)");
    }
    DemoServer.validateOrExit(env);
    JsonLog log = new JsonLog(logFile, "payment", Clock.systemUTC());
    ManagedChannel channel = NettyChannelBuilder.forAddress(fraudCheck.getHost(),
            fraudCheck.getPort() < 0 ? 80 : fraudCheck.getPort())
        .usePlaintext().overrideAuthority(FRAUD_CHECK_AUTHORITY).build();
    PaymentService service = new PaymentService(log, channel);
    DemoServer.start("payment", port, service::handle, () -> {
      channel.shutdownNow();
      log.close();
    });
  }

  void handle(HttpExchange exchange) throws IOException {
    if (!DemoServer.isPostTo(exchange, "/payments")) {
      return;
    }
    TraceHeaders trace = TraceHeaders.from(exchange.getRequestHeaders());
    byte[] body = DemoServer.readBody(exchange);
    String paymentId = UUID.randomUUID().toString();
    Map<String, Object> answer = new LinkedHashMap<>();
    // Handy for the reader of the demo: the trace to look up in the UI.
    trace.traceId().ifPresent(id -> answer.put("trace_id", id));
    // The digest is for the end-to-end tests, which check that no hop changed a byte: logged, not answered.
    log.write("INFO", "payment received", trace,
        Map.of("payment_id", paymentId, "request_bytes", body.length, "request_sha256", DemoServer.sha256(body)));
    String refusal = refusal(body);
    if (refusal != null) {
      answer.put("status", "refused");
      answer.put("error", refusal);
      log.write("WARN", "payment refused: " + refusal, trace, Map.of("payment_id", paymentId));
      DemoServer.respondJson(exchange, 400, Json.object(answer));
      return;
    }
    answer.put("payment_id", paymentId);

    // The trace headers go on as the call's metadata; what fraud-check and the proxies send back is kept.
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    Channel call = ClientInterceptors.intercept(fraudCheck,
        MetadataUtils.newAttachHeadersInterceptor(trace.toMetadata()),
        MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
    try {
      Struct verdict = ClientCalls.blockingUnaryCall(call, FraudCheckRpc.CHECK,
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
          BytesValue.newBuilder().setValue(ByteString.copyFrom(body)).build());
      // What fraud-check said it sent, against what arrived: the egress path must not change a byte.
      boolean intact = headers.get() != null && DemoServer.sha256(verdict.toByteArray())
          .equals(headers.get().get(FraudCheckRpc.ANSWER_DIGEST));
      String said = verdict.getFieldsOrDefault("verdict", Value.getDefaultInstance()).getStringValue();
      answer.put("status", "accepted");
      answer.put("verdict", said);
      answer.put("score", (int) verdict.getFieldsOrDefault("score", Value.getDefaultInstance()).getNumberValue());
      log.write("INFO", "payment accepted", trace, Map.of("payment_id", paymentId,
          "verdict", said, "fraud_check_answer_intact", intact));
      DemoServer.respondJson(exchange, 201, Json.object(answer));
      return;
    } catch (StatusRuntimeException e) {
      answer.put("status", "failed");
      answer.put("error", "fraud-check answered " + e.getStatus().getCode()
          + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription()));
      answer.put("upstream_grpc_status", e.getStatus().getCode().value());
      Metadata said = e.getTrailers() != null ? e.getTrailers() : trailers.get();
      if (said != null) {
        String error = said.get(FraudCheckRpc.SIDECAR_ERROR);
        String circuit = said.get(FraudCheckRpc.SIDECAR_CIRCUIT);
        if (error != null) {
          answer.put("upstream_sidecar_error", error);
        }
        if (circuit != null) {
          answer.put("upstream_circuit", circuit);
        }
      }
    }
    log.write("ERROR", "payment failed: " + answer.get("error"), trace, Map.of("payment_id", paymentId));
    DemoServer.respondJson(exchange, 502, Json.object(answer));
  }

  /** Why the body is not a payment, or null when it is one: a JSON object with a positive {@code amount}. */
  static String refusal(byte[] body) {
    JsonNode payment;
    try {
      payment = JsonBody.object(body);
    } catch (JsonBody.NotAnObject e) {
      return e.getMessage() + "; send a JSON object such as {\"amount\":12.50}";
    }
    JsonNode amount = payment.path("amount");
    if (!amount.isNumber() || amount.asDouble() <= 0) {
      return "\"amount\" must be a positive number, e.g. {\"amount\":12.50}";
    }
    return null;
  }
}
