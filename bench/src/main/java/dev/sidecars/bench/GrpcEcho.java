package dev.sidecars.bench;

import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * The gRPC benchmark's one method, {@code bench.Echo/Call}: unary, answering with the request's bytes.
 * Messages are plain byte arrays (no generated code); the payload is nonetheless a valid protobuf message
 * ({@code bytes payload = 1}), so tools that decode messages see a well-formed one.
 */
final class GrpcEcho {
  static final String SERVICE = "bench.Echo";

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

  static final MethodDescriptor<byte[], byte[]> CALL = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Call"))
      .setRequestMarshaller(BYTES)
      .setResponseMarshaller(BYTES)
      .build();

  private GrpcEcho() {}

  static ServerServiceDefinition service() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(CALL, ServerCalls.asyncUnaryCall((request, answer) -> {
          answer.onNext(request);
          answer.onCompleted();
        }))
        .build();
  }

  /**
   * The largest message of field 1 (bytes: its tag, its length, then 'x's) that fits in {@code size}
   * bytes: exactly {@code size} (1024, say) except where the length's encoding would grow by a byte, where
   * it is one byte shorter (130 gives 129).
   */
  static byte[] payload(int size) {
    if (size < 3) {
      throw new IllegalArgumentException("a payload needs at least 3 bytes");
    }
    int n = size - 1 - 1;
    while (1 + varintLength(n) + n > size) {
      n--;
    }
    byte[] message = new byte[1 + varintLength(n) + n];
    message[0] = 0x0A;
    int i = 1;
    for (int v = n; ; v >>>= 7) {
      if (v < 0x80) {
        message[i++] = (byte) v;
        break;
      }
      message[i++] = (byte) ((v & 0x7F) | 0x80);
    }
    Arrays.fill(message, i, message.length, (byte) 'x');
    return message;
  }

  private static int varintLength(int v) {
    int n = 1;
    while ((v >>>= 7) != 0) {
      n++;
    }
    return n;
  }
}
