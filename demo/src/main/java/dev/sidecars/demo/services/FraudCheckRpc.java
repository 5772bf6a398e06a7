package dev.sidecars.demo.services;

import com.google.protobuf.BytesValue;
import com.google.protobuf.Struct;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;

/**
 * The gRPC contract between payment and fraud-check: the unary method {@code demo.fraud.v1.FraudCheck/Check},
 * whose request is the payment as the JSON document payment received (a {@code google.protobuf.BytesValue},
 * so fraud-check sees its bytes unchanged) and whose answer is the verdict (a {@code google.protobuf.Struct}
 * with {@code verdict} and {@code score}). Protobuf's well-known types with grpc-protobuf's marshaller: the
 * demo needs no generated code.
 */
public final class FraudCheckRpc {
  public static final String SERVICE = "demo.fraud.v1.FraudCheck";
  public static final MethodDescriptor<BytesValue, Struct> CHECK = MethodDescriptor.<BytesValue, Struct>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Check"))
      .setRequestMarshaller(ProtoUtils.marshaller(BytesValue.getDefaultInstance()))
      .setResponseMarshaller(ProtoUtils.marshaller(Struct.getDefaultInstance()))
      .setIdempotent(true)
      .build();
  /** The hex SHA-256 of the serialized answer, in fraud-check's response headers, as {@code X-Body-SHA256} is in HTTP. */
  public static final Metadata.Key<String> ANSWER_DIGEST =
      Metadata.Key.of(DemoServer.BODY_DIGEST.toLowerCase(java.util.Locale.ROOT), Metadata.ASCII_STRING_MARSHALLER);
  /** What the proxies add to an answer of their own: why ({@code x-sidecar-error}) and the breaker's state. */
  static final Metadata.Key<String> SIDECAR_ERROR = Metadata.Key.of("x-sidecar-error", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> SIDECAR_CIRCUIT = Metadata.Key.of("x-sidecar-circuit", Metadata.ASCII_STRING_MARSHALLER);

  private FraudCheckRpc() {}
}
