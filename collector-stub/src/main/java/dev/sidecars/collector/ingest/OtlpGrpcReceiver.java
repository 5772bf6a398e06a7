package dev.sidecars.collector.ingest;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.RetryInfo;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.collector.logs.v1.LogsServiceGrpc;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.function.Function;

/**
 * OTLP/gRPC for the three signals, answering exactly as OTLP/HTTP would: the same faults become the
 * matching gRPC codes, with {@code RetryInfo} where HTTP would send {@code Retry-After}. Requests are parsed
 * here, not by grpc-java's marshaller, so malformed protobuf (or spans with ids of the wrong length) gets
 * {@code INVALID_ARGUMENT} saying why, as HTTP gets 400, instead of grpc-java's {@code UNKNOWN} for an
 * exception in the call and a stack trace in the log.
 */
public final class OtlpGrpcReceiver {
  private OtlpGrpcReceiver() {}

  /** The request as it came off the wire, undecoded. */
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
        throw Status.INTERNAL.withDescription("cannot read the request").withCause(e).asRuntimeException();
      }
    }
  };

  /** Decodes a request, or says why it cannot. */
  @FunctionalInterface
  private interface Decoder<T> {
    T decode(byte[] body) throws InvalidProtocolBufferException;
  }

  /** Hands a decoded request to the ingest. */
  @FunctionalInterface
  private interface Ingestion<T> {
    Outcome ingest(T request) throws MalformedRequestException;
  }

  public static List<ServerServiceDefinition> services(Ingest ingest) {
    return List.of(
        service(TraceServiceGrpc.SERVICE_NAME, TraceServiceGrpc.getExportMethod(), ExportTraceServiceRequest::parseFrom,
            ingest::traces, a -> {
              ExportTraceServiceResponse.Builder b = ExportTraceServiceResponse.newBuilder();
              if (a.isPartial()) {
                b.setPartialSuccess(ExportTracePartialSuccess.newBuilder()
                    .setRejectedSpans(a.rejected()).setErrorMessage(a.message()));
              }
              return b.build();
            }),
        service(MetricsServiceGrpc.SERVICE_NAME, MetricsServiceGrpc.getExportMethod(), ExportMetricsServiceRequest::parseFrom,
            ingest::metrics, a -> {
              ExportMetricsServiceResponse.Builder b = ExportMetricsServiceResponse.newBuilder();
              if (a.isPartial()) {
                b.setPartialSuccess(ExportMetricsPartialSuccess.newBuilder()
                    .setRejectedDataPoints(a.rejected()).setErrorMessage(a.message()));
              }
              return b.build();
            }),
        service(LogsServiceGrpc.SERVICE_NAME, LogsServiceGrpc.getExportMethod(), ExportLogsServiceRequest::parseFrom,
            ingest::logs, a -> {
              ExportLogsServiceResponse.Builder b = ExportLogsServiceResponse.newBuilder();
              if (a.isPartial()) {
                b.setPartialSuccess(ExportLogsPartialSuccess.newBuilder()
                    .setRejectedLogRecords(a.rejected()).setErrorMessage(a.message()));
              }
              return b.build();
            }));
  }

  private static <Q, R> ServerServiceDefinition service(String name, MethodDescriptor<Q, R> export, Decoder<Q> decoder,
      Ingestion<Q> ingestion, Function<Outcome.Accepted, R> response) {
    MethodDescriptor<byte[], R> raw = export.toBuilder(BYTES, export.getResponseMarshaller()).build();
    return ServerServiceDefinition.builder(name)
        .addMethod(raw, ServerCalls.asyncUnaryCall((byte[] body, StreamObserver<R> out) -> {
          Outcome outcome;
          try {
            outcome = ingestion.ingest(decoder.decode(body));
          } catch (InvalidProtocolBufferException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("malformed protobuf: " + e.getMessage()).asRuntimeException());
            return;
          } catch (MalformedRequestException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
          }
          answer(outcome, out, response);
        }))
        .build();
  }

  private static <R> void answer(Outcome outcome, StreamObserver<R> out, Function<Outcome.Accepted, R> response) {
    if (outcome instanceof Outcome.Accepted accepted) {
      out.onNext(response.apply(accepted));
      out.onCompleted();
      return;
    }
    Outcome.Refused refused = (Outcome.Refused) outcome;
    com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder()
        .setCode(refused.grpcCode().value()).setMessage(refused.message());
    if (refused.isThrottle()) {
      long delay = refused.retryAfterSeconds().orElse(0);
      status.addDetails(Any.pack(RetryInfo.newBuilder()
          .setRetryDelay(Duration.newBuilder().setSeconds(delay)).build()));
    }
    out.onError(StatusProto.toStatusRuntimeException(status.build()));
  }
}
