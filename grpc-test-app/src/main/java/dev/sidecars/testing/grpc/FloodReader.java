package dev.sidecars.testing.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client of {@link GrpcApp#FLOOD} that asks for a long server stream and reads nothing until {@link
 * #read()}, then takes messages as fast as they come: the slow reader a proxy must not buffer for.
 */
public final class FloodReader {
  private final ClientCall<byte[], byte[]> call;
  private final AtomicLong bytes = new AtomicLong();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();

  private FloodReader(Channel channel, Duration deadline) {
    call = channel.newCall(GrpcApp.FLOOD, CallOptions.DEFAULT.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
  }

  /** Starts a call for {@code count} messages of {@code size} bytes each; none is read yet. */
  public static FloodReader start(Channel channel, int count, int size, Duration deadline) {
    FloodReader reader = new FloodReader(channel, deadline);
    reader.call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        reader.bytes.addAndGet(message.length);
        reader.call.request(1);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        reader.closed.complete(status);
      }
    }, new Metadata());
    reader.call.sendMessage(ByteBuffer.allocate(8).putInt(count).putInt(size).array());
    reader.call.halfClose();
    return reader;
  }

  /** Begins reading, one message after another until the stream ends. */
  public void read() {
    call.request(1);
  }

  /** Begins reading once {@code pause} has passed: until then the app's messages wait on flow control. */
  public void readAfter(Duration pause) {
    CompletableFuture.runAsync(this::read, CompletableFuture.delayedExecutor(pause.toMillis(), TimeUnit.MILLISECONDS));
  }

  /** The call's status once it has ended. */
  public Status awaitClose(Duration timeout) throws Exception {
    return closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Message bytes read so far. */
  public long bytes() {
    return bytes.get();
  }
}
