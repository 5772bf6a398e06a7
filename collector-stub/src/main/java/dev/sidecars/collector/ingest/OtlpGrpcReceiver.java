package dev.sidecars.collector.ingest;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.rpc.RetryInfo;
import com.google.rpc.Status;
import io.grpc.BindableService;
import io.grpc.protobuf.StatusProto;
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
import java.util.List;
import java.util.function.Function;

/**
 * OTLP/gRPC for the three signals, answering exactly as OTLP/HTTP would: the same faults become the
 * matching gRPC codes, with {@code RetryInfo} where HTTP would send {@code Retry-After}.
 */
public final class OtlpGrpcReceiver {
  private OtlpGrpcReceiver() {}

  public static List<BindableService> services(Ingest ingest) {
    return List.of(
        new TraceServiceGrpc.TraceServiceImplBase() {
          @Override
          public void export(ExportTraceServiceRequest request, StreamObserver<ExportTraceServiceResponse> out) {
            answer(ingest.traces(request), out, a -> {
              ExportTraceServiceResponse.Builder b = ExportTraceServiceResponse.newBuilder();
              if (a.isPartial()) {
                b.setPartialSuccess(ExportTracePartialSuccess.newBuilder()
                    .setRejectedSpans(a.rejected()).setErrorMessage(a.message()));
              }
              return b.build();
            });
          }
        },
        new MetricsServiceGrpc.MetricsServiceImplBase() {
          @Override
          public void export(ExportMetricsServiceRequest request, StreamObserver<ExportMetricsServiceResponse> out) {
            answer(ingest.metrics(request), out, a -> {
              ExportMetricsServiceResponse.Builder b = ExportMetricsServiceResponse.newBuilder();
              if (a.isPartial()) {
                b.setPartialSuccess(ExportMetricsPartialSuccess.newBuilder()
                    .setRejectedDataPoints(a.rejected()).setErrorMessage(a.message()));
              }
              return b.build();
            });
          }
        },
        new LogsServiceGrpc.LogsServiceImplBase() {
          @Override
          public void export(ExportLogsServiceRequest request, StreamObserver<ExportLogsServiceResponse> out) {
            answer(ingest.logs(request), out, a -> {
              ExportLogsServiceResponse.Builder b = ExportLogsServiceResponse.newBuilder();
              if (a.isPartial()) {
                b.setPartialSuccess(ExportLogsPartialSuccess.newBuilder()
                    .setRejectedLogRecords(a.rejected()).setErrorMessage(a.message()));
              }
              return b.build();
            });
          }
        });
  }

  private static <R> void answer(Outcome outcome, StreamObserver<R> out, Function<Outcome.Accepted, R> response) {
    if (outcome instanceof Outcome.Accepted accepted) {
      out.onNext(response.apply(accepted));
      out.onCompleted();
      return;
    }
    Outcome.Refused refused = (Outcome.Refused) outcome;
    Status.Builder status = Status.newBuilder().setCode(refused.grpcCode().value()).setMessage(refused.message());
    if (refused.isThrottle()) {
      long delay = refused.retryAfterSeconds().orElse(0);
      status.addDetails(Any.pack(RetryInfo.newBuilder()
          .setRetryDelay(Duration.newBuilder().setSeconds(delay)).build()));
    }
    out.onError(StatusProto.toStatusRuntimeException(status.build()));
  }
}
