package dev.sidecars.logforwarder;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.Signal;
import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.parse.FileAttributes;
import dev.sidecars.logforwarder.parse.LineFormat;
import dev.sidecars.logforwarder.parse.RecordFactory;
import dev.sidecars.logforwarder.ship.Backoff;
import dev.sidecars.logforwarder.ship.BatchEncoder;
import dev.sidecars.logforwarder.ship.ExportRequests;
import dev.sidecars.logforwarder.ship.LogBatch;
import dev.sidecars.logforwarder.ship.LogSender;
import dev.sidecars.logforwarder.ship.OtlpLogExporters;
import dev.sidecars.logforwarder.ship.RequestBuffers;
import dev.sidecars.logforwarder.ship.Shipper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipper against the real stub and the real OTLP/HTTP sender, with the sleeper recorded instead of
 * slept: the retry schedule is checked exactly, in no time.
 */
class ShipperTest {
  @RegisterExtension
  static final CollectorStubExtension collector = new CollectorStubExtension();

  @TempDir Path state;

  @Test
  void retriesA503WithGrowingJitteredWaitsThenCommitsThePosition() throws Exception {
    collector.fail(Signal.LOGS, 503, 6);
    LogSender sender = OtlpLogExporters.sender(DefaultConfigProperties.createFromMap(
        Map.of("otel.exporter.otlp.endpoint", collector.otlpHttpUrl(), "otel.exporter.otlp.protocol", "http/protobuf")),
        Resource.getDefault(), InstrumentationScopeInfo.create("test"), "test");
    CheckpointStore checkpoints = new CheckpointStore(Optional.of(state), System::nanoTime);
    FileIdentity file = new FileIdentity("first line".getBytes(StandardCharsets.UTF_8), 0, "/logs/app.log",
        FileAttributes.of("/logs/app.log", "app.log"));
    checkpoints.track(file);
    RecordFactory records = new RecordFactory(LineFormat.of(LineFormat.Kind.TEXT), System::nanoTime);
    ExportRequests requests = new ExportRequests(Resource.getDefault(), InstrumentationScopeInfo.create("test"));
    BatchEncoder encoder = new BatchEncoder(records::record, requests, new RequestBuffers(2));
    LogBatch batch = new LogBatch(System.nanoTime(), 2, encoder);
    batch.add(records.entry("first line", false, false, file.fileAttributes()), file, 11, 10);
    batch.add(records.entry("second line", false, false, file.fileAttributes()), file, 23, 11);
    batch.seal();
    BlockingQueue<LogBatch> queue = new ArrayBlockingQueue<>(1);
    queue.add(batch);
    List<Duration> waits = new ArrayList<>();
    LogForwarderMetrics metrics = new LogForwarderMetrics(new SimpleMeterRegistry(), checkpoints);
    Shipper shipper = new Shipper(sender, requests, queue, checkpoints,
        new Backoff(Duration.ofMillis(200), Duration.ofSeconds(3), new Random(3)), waits::add, metrics);
    shipper.finish();
    shipper.run(); // returns once the queue is empty

    assertThat(waits).hasSize(6);
    for (int attempt = 0; attempt < waits.size(); attempt++) {
      long ceiling = Math.min(3000, 200L << attempt);
      assertThat(waits.get(attempt).toMillis()).as("wait %d", attempt).isBetween(ceiling / 2, ceiling);
    }
    assertThat(collector.logs(null)).hasSize(2);
    assertThat(file.committed()).isEqualTo(23);
    assertThat(metrics.sendsRetried.count()).isEqualTo(6);
    assertThat(metrics.recordsSent.count()).isEqualTo(2);
    encoder.close();
    sender.shutdown();
  }
}
