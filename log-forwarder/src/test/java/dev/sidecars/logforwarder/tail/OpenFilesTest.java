package dev.sidecars.logforwarder.tail;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.logforwarder.LogForwarderMetrics;
import dev.sidecars.logforwarder.WarningCapture;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.parse.FileAttributes;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which handle the bound takes, and the bytes it costs, counted exactly and named. */
class OpenFilesTest {
  @TempDir Path logs;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final LogForwarderMetrics metrics = new LogForwarderMetrics(registry,
      new CheckpointStore(Optional.empty(), System::nanoTime));
  private final List<TailedFile> files = new ArrayList<>();
  private final List<TailedFile> abandoned = new ArrayList<>();
  private WarningCapture warnings;

  @BeforeEach
  void captureWarnings() {
    warnings = WarningCapture.of(OpenFiles.class);
  }

  @AfterEach
  void closeAll() {
    warnings.close();
    files.forEach(TailedFile::close);
  }

  /** A file of {@code size} bytes, followed, read up to {@code read}, committed up to {@code committed}, open. */
  private TailedFile file(OpenFiles handles, String name, int size, long read, long committed) throws Exception {
    Path path = logs.resolve(name);
    Files.write(path, "x".repeat(size).getBytes(StandardCharsets.UTF_8));
    FileIdentity identity = new FileIdentity(("x" + name).getBytes(StandardCharsets.UTF_8), committed, path.toString(),
        FileAttributes.of(path.toString(), name));
    TailedFile f = new TailedFile(LogPaths.fileKey(path), path, identity, read, 1024, Optional.empty(), System.nanoTime());
    f.knownSize = size;
    files.add(f);
    assertThat(handles.open(f, files, false, abandoned::add)).isTrue();
    return f;
  }

  private TailedFile newFile(String name) throws Exception {
    Path path = logs.resolve(name);
    Files.writeString(path, "new\n");
    FileIdentity identity = new FileIdentity("new\n".getBytes(StandardCharsets.UTF_8), 0, path.toString(),
        FileAttributes.of(path.toString(), name));
    TailedFile f = new TailedFile(LogPaths.fileKey(path), path, identity, 0, 1024, Optional.empty(), System.nanoTime());
    files.add(f);
    return f;
  }

  private double abandonedBytes() {
    return registry.get("log.forwarder.unshipped.bytes.abandoned").tag("reason", "max_open_files").counter().count();
  }

  @Test
  void aFileWhoseEveryByteWasAcceptedGivesItsHandleFirst() throws Exception {
    OpenFiles handles = new OpenFiles(2, metrics);
    TailedFile unshipped = file(handles, "a.log", 100, 100, 0);
    TailedFile shipped = file(handles, "b.log", 500, 500, 500);
    TailedFile next = newFile("c.log");
    assertThat(handles.open(next, files, true, abandoned::add)).isTrue();
    assertThat(shipped.isOpen()).isFalse();
    assertThat(unshipped.isOpen()).isTrue();
    assertThat(handles.open()).isEqualTo(2);
    assertThat(abandonedBytes()).isZero();
  }

  @Test
  void aFileStillOnDiskIsClosedWithoutLossAndFoundAgainAfterARename() throws Exception {
    OpenFiles handles = new OpenFiles(1, metrics);
    TailedFile renamed = file(handles, "a.log", 300, 100, 0);
    Files.move(renamed.path, logs.resolve("a.log.1"));
    assertThat(handles.open(newFile("b.log"), files, true, abandoned::add)).isTrue();
    assertThat(renamed.isOpen()).isFalse();
    assertThat(renamed.path).as("its new name, to reopen it by").isEqualTo(logs.resolve("a.log.1"));
    assertThat(abandoned).isEmpty();
    assertThat(abandonedBytes()).isZero();
  }

  @Test
  void whenOnlyDeletedFilesHoldHandlesTheOneWithTheLeastUnreadIsGivenUpCountedToTheByteAndNamed() throws Exception {
    OpenFiles handles = new OpenFiles(2, metrics);
    TailedFile more = file(handles, "a.log", 1000, 100, 0);
    TailedFile less = file(handles, "b.log", 700, 400, 0);
    Files.delete(more.path);
    Files.delete(less.path);
    assertThat(handles.open(newFile("c.log"), files, true, abandoned::add)).isTrue();
    assertThat(abandoned).containsExactly(less);
    assertThat(more.isOpen()).isTrue();
    assertThat(abandonedBytes()).isEqualTo(300);
    assertThat(warnings.warnings()).singleElement().asString()
        .contains(less.path.toString(), "was deleted with 300 bytes not yet read", "LOG_MAX_OPEN_FILES=2");
  }

  @Test
  void reopeningAFileStillOnDiskNeverCostsADeletedFilesLines() throws Exception {
    OpenFiles handles = new OpenFiles(1, metrics);
    TailedFile deleted = file(handles, "a.log", 1000, 100, 0);
    Files.delete(deleted.path);
    TailedFile closed = newFile("b.log");
    assertThat(handles.open(closed, files, false, abandoned::add)).isFalse();
    assertThat(deleted.isOpen()).isTrue();
    assertThat(abandonedBytes()).isZero();
  }
}
