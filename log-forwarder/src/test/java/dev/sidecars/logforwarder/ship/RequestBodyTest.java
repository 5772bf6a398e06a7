package dev.sidecars.logforwarder.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.Test;

/** The request body the sender publishes: the array's bytes, in order, by the Reactive Streams rules. */
class RequestBodyTest {
  /** Asks for {@code step} buffers at a time, from inside onNext as HTTP clients do. */
  private static final class Collecting implements Flow.Subscriber<ByteBuffer> {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final List<String> signals = new ArrayList<>();
    private final long step;
    private Flow.Subscription subscription;
    private int depth;
    int maxDepth;

    Collecting(long step) {
      this.step = step;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(step);
    }

    @Override
    public void onNext(ByteBuffer item) {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      assertThat(item.isReadOnly()).isTrue();
      byte[] b = new byte[item.remaining()];
      item.get(b);
      bytes.writeBytes(b);
      subscription.request(step);
      depth--;
    }

    @Override
    public void onError(Throwable t) {
      signals.add("error: " + t.getMessage());
    }

    @Override
    public void onComplete() {
      signals.add("complete");
    }
  }

  @Test
  void publishesTheFirstLengthBytesOfTheArrayInOrder() {
    byte[] array = new byte[300_000];
    new Random(5).nextBytes(array);
    int length = 200_001; // past several 64 KiB views, not on a boundary, shorter than the array
    for (long step : new long[] {1, 3, Long.MAX_VALUE}) {
      Collecting subscriber = new Collecting(step);
      var body = OtlpHttpLogSender.body(array, length);
      body.subscribe(subscriber);

      assertThat(body.contentLength()).isEqualTo(length);
      assertThat(subscriber.bytes.toByteArray()).isEqualTo(java.util.Arrays.copyOf(array, length));
      assertThat(subscriber.signals).containsExactly("complete");
      assertThat(subscriber.maxDepth).as("onNext is never re-entered from request()").isEqualTo(1);
    }
  }

  @Test
  void aRequestForNoneIsAnError() {
    Flow.Subscriber<ByteBuffer> subscriber = new Collecting(0);
    Collecting collecting = (Collecting) subscriber;
    OtlpHttpLogSender.body(new byte[10], 10).subscribe(subscriber);
    assertThat(collecting.signals).hasSize(1).first().asString().startsWith("error:");
    assertThat(collecting.bytes.size()).isZero();
  }
}
