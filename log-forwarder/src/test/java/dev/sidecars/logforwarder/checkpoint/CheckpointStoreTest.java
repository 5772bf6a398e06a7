package dev.sidecars.logforwarder.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sidecars.logforwarder.parse.FileAttributes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The positions file: each write durable before it is published (no power loss can leave it empty or
 * half-written), a deleted state directory made again, and an age that says how stale the file on disk is.
 */
class CheckpointStoreTest {
  @TempDir Path state;
  private final AtomicLong clock = new AtomicLong();

  private static FileIdentity identity(String path, long committed) {
    return new FileIdentity(("first line of " + path).getBytes(StandardCharsets.UTF_8), committed, path,
        FileAttributes.of(path, path));
  }

  private String saved() throws IOException {
    Path file = state.resolve(CheckpointStore.FILE);
    return Files.exists(file) ? Files.readString(file) : "";
  }

  /**
   * What the disk holds at each fsync. The data must be forced while the name still points at the old
   * file (else a power loss after the rename may publish an empty or garbled file), and the directory
   * after the rename (else the rename itself may be lost). Removing either fsync, or moving the first
   * after the rename, fails this.
   */
  @Test
  void theNewPositionsAreFsyncedBeforeTheRenamePublishesThemAndTheDirectoryAfter() throws Exception {
    List<String> steps = new ArrayList<>();
    CheckpointStore.Durability recording = new CheckpointStore.Durability() {
      @Override
      public void force(FileChannel file, Path path) throws IOException {
        steps.add("force " + path.getFileName() + (saved().contains("\"offset\":42") ? " after the rename" : " before the rename"));
        file.force(true);
      }

      @Override
      public void forceDirectory(Path directory) {
        try {
          steps.add("force directory " + (saved().contains("\"offset\":42") ? "after the rename" : "before the rename"));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
    CheckpointStore store = new CheckpointStore(Optional.of(state), clock::get, recording);
    store.track(identity("/logs/app.log", 42));
    store.write();
    assertThat(steps).containsExactly("force checkpoints.json.tmp before the rename", "force directory after the rename");
    assertThat(saved()).contains("\"offset\":42");
  }

  @Test
  void aStateDirectoryDeletedWhileRunningIsCreatedAgainAtTheNextWrite() throws Exception {
    CheckpointStore store = new CheckpointStore(Optional.of(state), clock::get);
    FileIdentity app = identity("/logs/app.log", 10);
    store.track(app);
    store.write();
    try (Stream<Path> files = Files.list(state)) {
      for (Path p : files.toList()) {
        Files.delete(p);
      }
    }
    Files.delete(state);
    app.commit(20);
    store.write();
    assertThat(saved()).contains("\"offset\":20");
    assertThat(store.problem()).isEmpty();
  }

  @Test
  void whilePositionsCannotBeWrittenTheStoreSaysWhyAndTheAgeGrowsUntilTheyAreAgain() throws Exception {
    CheckpointStore store = new CheckpointStore(Optional.of(state), clock::get);
    FileIdentity app = identity("/logs/app.log", 10);
    app.size(10);
    store.track(app);
    store.write();
    assertThat(store.ageSeconds()).isZero();
    // The directory's path taken by a plain file: it cannot be made again.
    try (Stream<Path> files = Files.list(state)) {
      for (Path p : files.toList()) {
        Files.delete(p);
      }
    }
    Files.delete(state);
    Files.writeString(state, "not a directory");
    app.commit(10);
    clock.addAndGet(5_000_000_000L);
    assertThatThrownBy(store::write).isInstanceOf(UncheckedIOException.class);
    assertThat(store.problem()).get().asString().contains("cannot write checkpoints");
    // Every byte read was accepted, yet what is on disk is 5 s old: the age says so, not 0.
    assertThat(store.ageSeconds()).isEqualTo(5.0);
    Files.delete(state);
    store.verify(); // nothing on disk: written again
    assertThat(store.problem()).isEmpty();
    assertThat(store.ageSeconds()).isZero();
    assertThat(saved()).contains("\"offset\":10");
  }

  @Test
  void aDamagedFileIsKeptBesideAndNoPositionIsTakenFromIt() throws Exception {
    Files.writeString(state.resolve(CheckpointStore.FILE), "{\"version\":1,\"files\":[{\"fingerprintLen");
    CheckpointStore store = new CheckpointStore(Optional.of(state), clock::get);
    assertThat(store.damaged()).isTrue();
    assertThat(store.unclaimed()).isEmpty();
    try (Stream<Path> files = Files.list(state)) {
      List<Path> copies = files.filter(p -> p.getFileName().toString().startsWith("checkpoints.json.damaged-")).toList();
      assertThat(copies).singleElement().satisfies(p ->
          assertThat(Files.readString(p)).isEqualTo("{\"version\":1,\"files\":[{\"fingerprintLen"));
    }
  }

  @Test
  void theSizeSeenIsSavedWithThePositionSoALossAfterARestartCanBeCounted() throws Exception {
    CheckpointStore store = new CheckpointStore(Optional.of(state), clock::get);
    FileIdentity app = identity("/logs/app.log", 100);
    app.size(250);
    store.track(app);
    store.write();
    CheckpointStore restarted = new CheckpointStore(Optional.of(state), clock::get);
    assertThat(restarted.unclaimed()).singleElement().satisfies(c -> {
      assertThat(c.offset()).isEqualTo(100);
      assertThat(c.size()).isEqualTo(250);
    });
  }
}
