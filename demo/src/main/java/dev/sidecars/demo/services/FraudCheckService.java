package dev.sidecars.demo.services;

import com.google.protobuf.BytesValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.sidecars.runtime.StartLine;
import dev.sidecars.runtime.config.Settings;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The fraud-check service of the demo, a gRPC service (grpc-java, cleartext HTTP/2): {@link FraudCheckRpc#CHECK}
 * scores a payment (a JSON object) and answers a verdict, or {@code INVALID_ARGUMENT} when the payment is not
 * a JSON object. It knows nothing of OpenTelemetry; it logs a JSON line with the trace id it was handed in the
 * call's {@code traceparent} metadata.
 *
 * <p>Environment: {@code PORT} (default 8081; 0 picks a free one), {@code LOG_FILE} (default
 * {@code fraud-check.log}).
 */
public final class FraudCheckService {
  private final JsonLog log;

  FraudCheckService(JsonLog log) {
    this.log = log;
  }

  public static void main(String[] args) throws InterruptedException {
    Settings env = Settings.fromEnvironment();
    int port = env.port("PORT", 8081);
    Path logFile = Path.of(env.string("LOG_FILE", "fraud-check.log"));
    DemoServer.validateOrExit(env);
    JsonLog log = new JsonLog(logFile, "fraud-check", Clock.systemUTC());
    Server server;
    try {
      server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
          .addService(new FraudCheckService(log).definition()).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on port " + port, e);
    }
    System.out.println(StartLine.format("fraud-check", "demo", Map.of("grpc", server.getPort())));
    System.out.flush();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      // GOAWAY, then at most 2 s for the calls in flight, as DemoServer gives HTTP requests.
      server.shutdown();
      try {
        server.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      server.shutdownNow();
      log.close();
      // SIGTERM is how this service is asked to stop, so it is a clean exit, not status 143.
      Runtime.getRuntime().halt(0);
    }, "fraud-check-stop"));
    // grpc-java's threads are daemons: the main thread keeps the process alive until it is stopped.
    server.awaitTermination();
  }

  ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(FraudCheckRpc.SERVICE).addMethod(FraudCheckRpc.CHECK, new CheckHandler()).build();
  }

  /** The verdict on {@code payment}, or a status saying why there is none. */
  Struct check(byte[] payment, TraceHeaders trace) {
    String digest = DemoServer.sha256(payment);
    try {
      JsonBody.object(payment);
    } catch (JsonBody.NotAnObject e) {
      log.write("WARN", "fraud check refused: " + e.getMessage(), trace, Map.of("request_bytes", payment.length));
      throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
    }
    // A stable score from the payment itself, so the same payment always gets the same verdict.
    int score = Integer.parseInt(digest.substring(0, 2), 16) * 100 / 255;
    String verdict = score >= 90 ? "review" : "approve";
    // The digest is for the end-to-end tests, which check that no hop changed a byte: logged, not answered.
    log.write("INFO", "fraud check " + verdict, trace,
        Map.of("score", score, "request_bytes", payment.length, "request_sha256", digest));
    return Struct.newBuilder()
        .putFields("verdict", Value.newBuilder().setStringValue(verdict).build())
        .putFields("score", Value.newBuilder().setNumberValue(score).build())
        .build();
  }

  /**
   * A unary call by hand rather than through {@code ServerCalls}: the handler needs the call's metadata (the
   * trace headers) and sends the answer's digest in its response headers.
   */
  private final class CheckHandler implements ServerCallHandler<BytesValue, Struct> {
    @Override
    public ServerCall.Listener<BytesValue> startCall(ServerCall<BytesValue, Struct> call, Metadata headers) {
      TraceHeaders trace = TraceHeaders.from(headers);
      call.request(2); // one message, and a second to tell a client that sends too many
      return new ServerCall.Listener<>() {
        private BytesValue payment;

        @Override
        public void onMessage(BytesValue message) {
          if (payment != null) {
            call.close(Status.INTERNAL.withDescription("more than one payment in a unary call"), new Metadata());
            return;
          }
          payment = message;
        }

        @Override
        public void onHalfClose() {
          if (payment == null) {
            call.close(Status.INTERNAL.withDescription("no payment in the call"), new Metadata());
            return;
          }
          Struct answer;
          try {
            answer = check(payment.getValue().toByteArray(), trace);
          } catch (io.grpc.StatusRuntimeException e) {
            call.close(e.getStatus(), new Metadata());
            return;
          }
          Metadata responseHeaders = new Metadata();
          responseHeaders.put(FraudCheckRpc.ANSWER_DIGEST, DemoServer.sha256(answer.toByteArray()));
          call.sendHeaders(responseHeaders);
          call.sendMessage(answer);
          call.close(Status.OK, new Metadata());
        }
      };
    }
  }
}
