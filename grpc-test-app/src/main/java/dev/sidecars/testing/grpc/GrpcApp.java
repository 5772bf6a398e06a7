package dev.sidecars.testing.grpc;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real gRPC app (grpc-java, its Netty transport, h2c) behind a proxy in tests, with methods of every
 * call shape built from hand-made descriptors and a byte[] marshaller: {@code Echo} (unary, with a custom
 * trailer), {@code Count} (server streaming: {@code count} messages of {@code size} bytes, {@code pauseMs}
 * apart), {@code Flood} (server streaming {@code count} messages of {@code size} bytes as fast as flow control
 * lets it, never more), {@code Concat} (client streaming: the messages received, joined), {@code Chat}
 * (bidirectional: each message echoed as it comes), {@code Endless} (streams until cancelled) and {@code
 * Stall} (client streaming that never reads nor answers, so the upload stalls on flow control).
 * Cancellations seen are counted, and so are the calls; the last call's metadata is kept.
 */
public final class GrpcApp implements AutoCloseable {
  public static final String SERVICE = "test.Streams";
  public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
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
  public static final MethodDescriptor<byte[], byte[]> ECHO = method("Echo", MethodType.UNARY);
  public static final MethodDescriptor<byte[], byte[]> COUNT = method("Count", MethodType.SERVER_STREAMING);
  public static final MethodDescriptor<byte[], byte[]> ENDLESS = method("Endless", MethodType.SERVER_STREAMING);
  public static final MethodDescriptor<byte[], byte[]> STALL = method("Stall", MethodType.CLIENT_STREAMING);
  public static final MethodDescriptor<byte[], byte[]> FLOOD = method("Flood", MethodType.SERVER_STREAMING);
  public static final MethodDescriptor<byte[], byte[]> CHAT = method("Chat", MethodType.BIDI_STREAMING);
  public static final MethodDescriptor<byte[], byte[]> CONCAT = method("Concat", MethodType.CLIENT_STREAMING);
  public static final Metadata.Key<String> CUSTOM_TRAILER = Metadata.Key.of("x-custom-trailer", Metadata.ASCII_STRING_MARSHALLER);

  public final AtomicInteger cancelled = new AtomicInteger();
  /** Calls started. */
  public final AtomicInteger calls = new AtomicInteger();
  /** The request headers of the call started last. */
  public final java.util.concurrent.atomic.AtomicReference<Metadata> lastHeaders = new java.util.concurrent.atomic.AtomicReference<>();
  /** Echo calls answered. */
  public final AtomicInteger echoes = new AtomicInteger();
  /** The {@code grpc-timeout} of the last call, or {@code null}. */
  public final java.util.concurrent.atomic.AtomicReference<String> lastTimeout = new java.util.concurrent.atomic.AtomicReference<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final Server server;

  public GrpcApp() throws IOException {
    ServerServiceDefinition service = ServerServiceDefinition.builder(SERVICE)
        .addMethod(ECHO, new EchoHandler())
        .addMethod(COUNT, ServerCalls.asyncServerStreamingCall((request, out) -> {
          ByteBuffer spec = ByteBuffer.wrap(request);
          int count = spec.getInt();
          int size = spec.getInt();
          int pauseMs = spec.getInt();
          send(out, count, size, pauseMs, 0);
        }))
        .addMethod(FLOOD, ServerCalls.asyncServerStreamingCall((request, out) -> {
          ByteBuffer spec = ByteBuffer.wrap(request);
          flood((ServerCallStreamObserver<byte[]>) out, spec.getInt(), new byte[spec.getInt()]);
        }))
        .addMethod(CONCAT, ServerCalls.asyncClientStreamingCall(out -> new io.grpc.stub.StreamObserver<byte[]>() {
          private final java.io.ByteArrayOutputStream joined = new java.io.ByteArrayOutputStream();

          @Override
          public void onNext(byte[] value) {
            joined.writeBytes(value);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {
            out.onNext(joined.toByteArray());
            out.onCompleted();
          }
        }))
        .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(out -> new io.grpc.stub.StreamObserver<byte[]>() {
          @Override
          public void onNext(byte[] value) {
            out.onNext(value);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {
            out.onCompleted();
          }
        }))
        .addMethod(ENDLESS, ServerCalls.asyncServerStreamingCall((request, out) -> {
          ServerCallStreamObserver<byte[]> stream = (ServerCallStreamObserver<byte[]>) out;
          stream.setOnCancelHandler(cancelled::incrementAndGet);
          endless(stream);
        }))
        .addMethod(STALL, ServerCalls.asyncClientStreamingCall(out -> {
          // Never asks for a message: the client's upload stalls once the windows are full.
          ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) out;
          call.disableAutoRequest();
          call.setOnCancelHandler(cancelled::incrementAndGet);
          return new io.grpc.stub.StreamObserver<byte[]>() {
            @Override
            public void onNext(byte[] value) {}

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          };
        }))
        .build();
    Metadata.Key<String> timeout = Metadata.Key.of("grpc-timeout", Metadata.ASCII_STRING_MARSHALLER);
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(io.grpc.ServerInterceptors.intercept(service, new io.grpc.ServerInterceptor() {
          @Override
          public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            calls.incrementAndGet();
            lastHeaders.set(headers);
            lastTimeout.set(headers.get(timeout));
            return next.startCall(call, headers);
          }
        }))
        .build().start();
  }

  private static MethodDescriptor<byte[], byte[]> method(String name, MethodType type) {
    return MethodDescriptor.newBuilder(BYTES, BYTES).setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name)).build();
  }

  public static byte[] count(int count, int size, int pauseMs) {
    return ByteBuffer.allocate(12).putInt(count).putInt(size).putInt(pauseMs).array();
  }

  private void send(io.grpc.stub.StreamObserver<byte[]> out, int count, int size, int pauseMs, int sent) {
    if (sent == count) {
      out.onCompleted();
      return;
    }
    byte[] message = new byte[size];
    Arrays.fill(message, (byte) sent);
    out.onNext(message);
    if (pauseMs > 0) {
      timer.schedule(() -> send(out, count, size, pauseMs, sent + 1), pauseMs, TimeUnit.MILLISECONDS);
    } else {
      send(out, count, size, 0, sent + 1);
    }
  }

  /** Sends while the client's side takes more: what is not sent waits in this app, not in a buffer. */
  private static void flood(ServerCallStreamObserver<byte[]> stream, int count, byte[] message) {
    int[] sent = {0};
    stream.setOnCancelHandler(() -> {});
    stream.setOnReadyHandler(() -> {
      while (stream.isReady() && sent[0] < count) {
        stream.onNext(message);
        sent[0]++;
      }
      if (sent[0] == count) {
        sent[0]++;
        stream.onCompleted();
      }
    });
  }

  private void endless(ServerCallStreamObserver<byte[]> stream) {
    if (stream.isCancelled()) {
      return;
    }
    stream.onNext(new byte[1024]);
    timer.schedule(() -> endless(stream), 20, TimeUnit.MILLISECONDS);
  }

  /** Starts a client's {@code call}; completes with the status it ends with. */
  public static CompletableFuture<Status> start(io.grpc.ClientCall<byte[], byte[]> call) {
    return start(call, new AtomicInteger());
  }

  /** As {@link #start(io.grpc.ClientCall)}, counting the messages received in {@code messages}. */
  public static CompletableFuture<Status> start(io.grpc.ClientCall<byte[], byte[]> call, AtomicInteger messages) {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(new io.grpc.ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        messages.incrementAndGet();
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    return closed;
  }

  public int port() {
    return server.getPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  /** Stops gracefully, as grpc-java does on a rolling restart: GOAWAY, running calls go on to their end. */
  public void drain() {
    server.shutdown();
  }

  /** Stops at once: running calls break off (the app dies mid-stream). */
  public void kill() {
    server.shutdownNow();
  }

  @Override
  public void close() {
    server.shutdownNow();
    timer.shutdownNow();
  }

  /** Unary echo whose trailers carry {@code x-custom-trailer: t-<length>}. */
  private final class EchoHandler implements ServerCallHandler<byte[], byte[]> {
    @Override
    public ServerCall.Listener<byte[]> startCall(ServerCall<byte[], byte[]> call, Metadata headers) {
      call.request(1);
      return new ServerCall.Listener<>() {
        @Override
        public void onMessage(byte[] message) {
          call.sendHeaders(new Metadata());
          call.sendMessage(message);
          Metadata trailers = new Metadata();
          trailers.put(CUSTOM_TRAILER, "t-" + message.length);
          call.close(Status.OK, trailers);
          echoes.incrementAndGet();
        }
      };
    }
  }
}
