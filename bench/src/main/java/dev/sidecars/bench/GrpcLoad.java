package dev.sidecars.bench;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The load generator of bench/grpc.sh: unary {@code bench.Echo/Call} calls of a fixed-size message with
 * grpc-java's client, over cleartext HTTP/2 with prior knowledge (what a gRPC client does for an
 * {@code http://} target), one channel per connection, phases as in {@link LoadRun}. A call counts as a
 * success only when it ends with status OK and the echoed bytes equal the request's; anything else is
 * counted by its status code.
 *
 * <p>Options: {@code --target=127.0.0.1:PORT}, {@code --size=1024} (message bytes), {@code --streams=8}
 * (calls in flight per connection in the max phase, {@code --max-connections=8} of them), and
 * {@link LoadRun#OPTIONS}.
 */
public final class GrpcLoad {
  private GrpcLoad() {}

  public static void main(String[] argv) throws Exception {
    LoadRun.Settings settings;
    String target;
    byte[] payload;
    try {
      Args args = new Args(argv);
      target = args.string("target", "127.0.0.1:50051");
      if (target.lastIndexOf(':') < 1) {
        throw new IllegalArgumentException("--target must be HOST:PORT");
      }
      payload = GrpcEcho.payload(args.positive("size", 1024));
      int streams = args.positive("streams", 8);
      settings = LoadRun.Settings.parse(args, 8, streams);
      args.done();
    } catch (IllegalArgumentException e) {
      System.err.println("GrpcLoad: " + e.getMessage());
      System.err.println("usage: java -cp bench.jar dev.sidecars.bench.GrpcLoad --target=HOST:PORT [--size=1024]"
          + " [--streams=8] " + LoadRun.OPTIONS);
      System.exit(64);
      return;
    }
    long timeoutNanos = settings.timeout().toNanos();
    System.exit(LoadRun.run(settings, n -> new Channels(target, n, payload, timeoutNanos), System.out));
  }

  /** {@code n} channels to one target, each its own HTTP/2 connection. */
  static final class Channels implements Caller {
    private final ManagedChannel[] channels;
    private final byte[] payload;
    private final long timeoutNanos;

    Channels(String target, int n, byte[] payload, long timeoutNanos) {
      this.payload = payload;
      this.timeoutNanos = timeoutNanos;
      this.channels = new ManagedChannel[n];
      for (int i = 0; i < n; i++) {
        int colon = target.lastIndexOf(':');
        channels[i] = NettyChannelBuilder
            .forAddress(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)))
            .usePlaintext()
            .directExecutor()
            .build();
      }
    }

    @Override
    public void call(int connection, Outcome outcome) {
      CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS);
      ClientCalls.asyncUnaryCall(channels[connection].newCall(GrpcEcho.CALL, options), payload,
          new StreamObserver<byte[]>() {
            private byte[] answer;

            @Override
            public void onNext(byte[] value) {
              answer = value;
            }

            @Override
            public void onError(Throwable t) {
              Status status = Status.fromThrowable(t);
              String description = status.getDescription();
              // Numbers out, so grpc-java's deadline messages ("after 9.999988358s") count as one reason.
              outcome.failed(status.getCode() + (description == null ? ""
                  : ": " + description.substring(0, Math.min(120, description.length())).replaceAll("[0-9][0-9.]*", "#")));
            }

            @Override
            public void onCompleted() {
              if (Arrays.equals(answer, payload)) {
                outcome.ok();
              } else {
                outcome.failed("OK with an answer that is not the request's bytes");
              }
            }
          });
    }

    @Override
    public boolean blocking() {
      return false;
    }

    @Override
    public void close() {
      for (ManagedChannel c : channels) {
        c.shutdownNow();
      }
      for (ManagedChannel c : channels) {
        try {
          c.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
