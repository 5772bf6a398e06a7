package dev.sidecars.logforwarder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.parse.FileAttributes;
import dev.sidecars.logforwarder.parse.LineFormat;
import dev.sidecars.logforwarder.parse.LogEntry;
import dev.sidecars.logforwarder.parse.RecordFactory;
import dev.sidecars.logforwarder.parse.WireRecord;
import dev.sidecars.logforwarder.ship.Backoff;
import dev.sidecars.logforwarder.ship.BatchEncoder;
import dev.sidecars.logforwarder.ship.ExportRequests;
import dev.sidecars.logforwarder.ship.LogBatch;
import dev.sidecars.logforwarder.ship.LogSender;
import dev.sidecars.logforwarder.ship.RequestBuffers;
import dev.sidecars.logforwarder.ship.SendResult;
import dev.sidecars.logforwarder.ship.Shipper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Batches encoded on the encoding thread: every entry once, in order, and the reading thread held back. */
class BatchEncodingTest {
  private final RecordFactory records = new RecordFactory(LineFormat.of(LineFormat.Kind.TEXT), System::nanoTime);
  private final ExportRequests requests =
      new ExportRequests(Resource.getDefault(), InstrumentationScopeInfo.create("test"));
  private final FileIdentity file = new FileIdentity("line 0".getBytes(StandardCharsets.UTF_8), 0, "/logs/app.log",
      FileAttributes.of("/logs/app.log", "app.log"));

  /** Entries as the reading thread makes them: a single line as its bytes, a joined entry as text. */
  private LogEntry entry(int i) {
    return i % 2 == 0
        ? records.entry(("line " + i).getBytes(StandardCharsets.UTF_8), false, file.fileAttributes(), records.now())
        : records.entry("line " + i, false, false, file.fileAttributes());
  }

  @Test
  void aBatchOfManyChunksHoldsEveryEntryInOrder() throws Exception {
    try (BatchEncoder encoder = new BatchEncoder(records::record, requests, new RequestBuffers(2))) {
      LogBatch batch = new LogBatch(System.nanoTime(), 5000, encoder);
      for (int i = 0; i < 5000; i++) {
        batch.add(entry(i), file, 7L * (i + 1), 6);
      }
      batch.seal();

      ExportRequests.Encoded request = batch.request();
      List<LogRecord> sent = ExportRequests.records(request.bytes(), request.length());
      assertThat(sent).hasSize(5000);
      for (int i = 0; i < 5000; i++) {
        assertThat(sent.get(i).getBody().getStringValue()).isEqualTo("line " + i);
        assertThat(sent.get(i).getAttributesList()).isEqualTo(file.fileAttributes().keyValues());
      }
      assertThat(batch.ends()).containsEntry(file, 7L * 5000);
    }
  }

  @Test
  void aBatchThatCannotBeEncodedStopsTheShipperWhereReadinessSeesIt() throws Exception {
    Function<LogEntry, WireRecord> broken = e -> {
      throw new IllegalStateException("a parsing bug");
    };
    try (BatchEncoder encoder = new BatchEncoder(broken, requests, new RequestBuffers(2))) {
      LogBatch batch = new LogBatch(System.nanoTime(), 10, encoder);
      batch.add(entry(1), file, 7, 6);
      batch.seal();
      BlockingQueue<LogBatch> queue = new ArrayBlockingQueue<>(1);
      queue.add(batch);
      CheckpointStore checkpoints = new CheckpointStore(Optional.empty(), System::nanoTime);
      LogSender neverCalled = new LogSender() {
        @Override
        public SendResult send(byte[] request, int length, int records) {
          throw new AssertionError("a batch that was not encoded must not be sent");
        }

        @Override
        public void shutdown() {}
      };
      Shipper shipper = new Shipper(neverCalled, requests, queue, checkpoints,
          new Backoff(Duration.ofMillis(1), Duration.ofMillis(1), new Random(1)), d -> {},
          new LogForwarderMetrics(new SimpleMeterRegistry(), checkpoints), 2);
      shipper.finish();

      assertThatThrownBy(shipper::run).hasRootCauseMessage("a parsing bug");
      assertThat(shipper.failure()).isPresent();
      assertThat(file.committed()).as("nothing committed: the lines are read again after a restart").isZero();
    }
  }

  @Test
  void readingWaitsWhileTwoChunksAreNotEncodedYet() throws Exception {
    CountDownLatch encoderMayGo = new CountDownLatch(1);
    AtomicInteger encoded = new AtomicInteger();
    Function<LogEntry, WireRecord> slow = e -> {
      try {
        encoderMayGo.await();
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
      }
      encoded.incrementAndGet();
      return records.record(e);
    };
    try (BatchEncoder encoder = new BatchEncoder(slow, requests, new RequestBuffers(2))) {
      LogBatch batch = new LogBatch(System.nanoTime(), 8192, encoder);
      AtomicInteger added = new AtomicInteger();
      Thread reader = new Thread(() -> {
        try {
          for (int i = 0; i < 4 * 512; i++) {
            batch.add(entry(i), file, i + 1, 6);
            added.incrementAndGet();
          }
          batch.seal();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      reader.start();

      // The first chunk is on the encoding thread, the second waits there: the third is not handed over.
      await().atMost(Duration.ofSeconds(10)).until(() -> reader.getState() == Thread.State.WAITING);
      assertThat(added.get()).isEqualTo(3 * 512 - 1);
      assertThat(encoded.get()).isZero();

      encoderMayGo.countDown();
      reader.join(10_000);
      assertThat(batch.request().length()).isPositive();
      assertThat(encoded.get()).isEqualTo(4 * 512);
    }
  }
}
