package dev.sidecars.runtime.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class AccessLogWriterTest {
  @Test
  void linesArriveInOrderAndAreFlushedWithoutClosing() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    AccessLogWriter<String> writer = new AccessLogWriter<>(out, 100, formatted(Function.identity()));

    IntStream.range(0, 50).forEach(i -> writer.accept("{\"n\":" + i + "}"));

    String expected = IntStream.range(0, 50).mapToObj(i -> "{\"n\":" + i + "}\n").reduce("", String::concat);
    await().atMost(Duration.ofSeconds(10)).until(() -> out.toString(StandardCharsets.UTF_8).equals(expected));
    assertThat(writer.dropped()).isZero();
  }

  @Test
  void itemsBecomeLinesOnTheWritersThreadNotTheCallers() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    AccessLogWriter<String> writer = new AccessLogWriter<>(out, 10,
        formatted(item -> item + " on " + Thread.currentThread().getName()));

    writer.accept("formatted");
    writer.close(Duration.ofSeconds(10));

    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("formatted on access-log\n");
  }

  @Test
  void whenOutputBlocksLinesBeyondTheQueueAreDroppedAndCountedNotBuffered() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ByteArrayOutputStream written = new ByteArrayOutputStream();
    OutputStream stuck = new OutputStream() {
      @Override
      public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        written.write(b, off, len);
      }
    };
    AccessLogWriter<String> writer = new AccessLogWriter<>(stuck, 10, formatted(Function.identity()));
    AtomicInteger accepted = new AtomicInteger();

    writer.accept("first"); // the writer thread takes it and blocks flushing it
    accepted.incrementAndGet();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      writer.accept("probe");
      accepted.incrementAndGet();
      assertThat(writer.dropped()).isPositive();
    });
    long droppedBefore = writer.dropped();
    IntStream.range(0, 100).forEach(i -> writer.accept("line " + i));
    accepted.addAndGet(100);

    assertThat(writer.dropped()).isEqualTo(droppedBefore + 100);
    release.countDown();
    writer.close(Duration.ofSeconds(10));
    String text = written.toString(StandardCharsets.UTF_8);
    assertThat(text).startsWith("first\n");
    // Every line is either written, in order, or counted: nothing vanishes silently.
    assertThat(text.lines().count() + writer.dropped()).isEqualTo(accepted.get());
    assertThat(text.lines().skip(1)).allMatch("probe"::equals);
  }

  /** Lines that are each {@code format}'s string in UTF-8, one string per item. */
  private static AccessLogWriter.LinesFactory<String> formatted(Function<String, String> format) {
    return out -> {
      Writer writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
      return new AccessLogWriter.Lines<>() {
        @Override
        public void write(String item) throws IOException {
          writer.write(format.apply(item));
          writer.write('\n');
        }

        @Override
        public void flush() throws IOException {
          writer.flush();
        }
      };
    };
  }
}
