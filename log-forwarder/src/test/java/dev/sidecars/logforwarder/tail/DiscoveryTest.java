package dev.sidecars.logforwarder.tail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.logforwarder.LogForwarderMetrics;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CopyOnWriteArraySet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Finding files: on its own thread, through notifications rather than the periodic scan (here an hour
 * apart), opening each new file at once so that a rename or delete cannot take its bytes away.
 */
class DiscoveryTest {
  private static final Duration NEVER = Duration.ofHours(1);

  @TempDir Path logs;
  /** Runs once when discovery checks whether the key is followed (between a walk and the watches it adds). */
  private final Map<Object, Runnable> onFollowedCheck = new ConcurrentHashMap<>();
  private final Set<Object> followed = new CopyOnWriteArraySet<>() {
    @Override
    public boolean contains(Object key) {
      Runnable hook = onFollowedCheck.remove(key);
      if (hook != null) {
        hook.run();
      }
      return super.contains(key);
    }
  };
  private final List<Object> found = new CopyOnWriteArrayList<>();
  private Discovery discovery;
  private Thread thread;

  private OpenFiles handles(int max) {
    return new OpenFiles(max, new LogForwarderMetrics(new SimpleMeterRegistry(),
        new CheckpointStore(Optional.empty(), System::nanoTime)));
  }

  /** Starts discovery on its thread; what it hands over is collected in {@link #found}. */
  private void start(String glob, int maxOpen) {
    LogPaths paths = new LogPaths(List.of(logs + "/" + glob), List.of("*.skip"));
    discovery = new Discovery(paths, NEVER, handles(maxOpen), followed, System::nanoTime, this::collect);
    thread = new Thread(discovery, "test-discovery");
    thread.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> found.stream().anyMatch(o -> o instanceof Discovery.Scan));
  }

  private void collect() {
    for (Object o; (o = discovery.poll()) != null; ) {
      found.add(o);
    }
  }

  @AfterEach
  void stop() throws Exception {
    if (discovery != null) {
      discovery.stop();
      thread.join(5000);
    }
  }

  private Discovery.Seen awaitSeen(Path path) {
    return await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
        .until(() -> found.stream().filter(o -> o instanceof Discovery.Seen s && s.found().path().equals(path))
            .map(o -> (Discovery.Seen) o).findFirst(), Optional::isPresent).get();
  }

  @Test
  void aNewFileIsOpenedWithinMillisecondsSoItsBytesSurviveARenameAndADelete() throws Exception {
    start("*.log", 10);
    Path file = logs.resolve("app.log");
    long created = System.nanoTime();
    Files.writeString(file, "written before it was rotated away\n");
    Discovery.Seen seen = awaitSeen(file);
    long tookMillis = (System.nanoTime() - created) / 1_000_000;
    // Notifications, not the scan (an hour apart): the issue asks for about 100 ms; the bound here leaves
    // room for a loaded machine, far below any rescan interval.
    assertThat(tookMillis).as("ms from creation to an open handle").isLessThan(1000);
    assertThat(seen.channel()).isNotNull();
    Files.move(file, logs.resolve("app.log.1"));
    Files.delete(logs.resolve("app.log.1"));
    ByteBuffer bytes = ByteBuffer.allocate(100);
    int n = seen.channel().read(bytes, 0);
    assertThat(new String(bytes.array(), 0, n, StandardCharsets.UTF_8)).isEqualTo("written before it was rotated away\n");
    seen.channel().close();
  }

  @Test
  void aFileInADirectoryCreatedAfterTheStartIsFoundUnderADoubleStarGlob() throws Exception {
    start("**/*.log", 10);
    Path dir = Files.createDirectories(logs.resolve("pod-1/container"));
    Path file = dir.resolve("app.log");
    Files.writeString(file, "hello\n");
    assertThat(awaitSeen(file).channel()).isNotNull();
  }

  /**
   * A directory that appears in a new directory between the walk of it and the watch on it (mkdir -p, a
   * tree moved in) raises no notification: a second walk after the watch finds it. The hook runs at the
   * exact moment between the two: when the walk's first file is checked against the followed ones.
   */
  @Test
  void aDirectoryMadeBetweenTheWalkOfItsParentAndTheWatchOnItIsStillFound(@TempDir Path staging) throws Exception {
    Path first = Files.createDirectories(staging.resolve("pod-1")).resolve("first.log");
    Files.writeString(first, "first\n");
    Object firstKey = LogPaths.fileKey(first);
    Path late = logs.resolve("pod-1/late/app.log");
    start("**/*.log", 10);
    onFollowedCheck.put(firstKey, () -> {
      try {
        Files.createDirectories(late.getParent());
        Files.writeString(late, "made after the walk\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    Files.move(staging.resolve("pod-1"), logs.resolve("pod-1"), StandardCopyOption.ATOMIC_MOVE);
    awaitSeen(logs.resolve("pod-1/first.log"));
    assertThat(awaitSeen(late).channel()).isNotNull();
  }

  @Test
  void filesNotMatchedAreReportedAsSiblingsExcludedOnesAndFollowedOnesAreNotOpenedAgain() throws Exception {
    Path known = logs.resolve("known.log");
    Files.writeString(known, "followed already\n");
    followed.add(LogPaths.fileKey(known));
    start("*.log", 10);
    Files.writeString(logs.resolve("app.log.1"), "a copy, maybe\n");
    Files.writeString(logs.resolve("noise.skip"), "excluded\n");
    Files.move(known, logs.resolve("renamed.log"));
    Discovery.Seen renamed = awaitSeen(logs.resolve("renamed.log"));
    assertThat(renamed.channel()).as("followed: not opened twice").isNull();
    await().atMost(Duration.ofSeconds(5)).until(() -> found.stream()
        .anyMatch(o -> o instanceof Discovery.Sibling s && s.path().equals(logs.resolve("app.log.1"))));
    assertThat(found).noneMatch(o -> o instanceof Discovery.Seen s && s.found().path().endsWith("noise.skip"));
  }

  @Test
  void atTheHandleBoundANewFileIsHandedOverWithoutAHandleForTheReaderToMakeRoom() throws Exception {
    Files.writeString(logs.resolve("a.log"), "a\n");
    start("*.log", 1);
    assertThat(awaitSeen(logs.resolve("a.log")).channel()).isNotNull();
    Path b = logs.resolve("b.log");
    Files.writeString(b, "b\n");
    assertThat(awaitSeen(b).channel()).as("no handle free").isNull();
  }

  @Test
  void theScanListsEveryMatchAfterTheNewOnes() throws Exception {
    Files.writeString(logs.resolve("a.log"), "a\n");
    Files.writeString(logs.resolve("b.log"), "b\n");
    start("*.log", 10);
    Discovery.Scan scan = (Discovery.Scan) found.stream().filter(o -> o instanceof Discovery.Scan).findFirst().get();
    assertThat(scan.initial()).isTrue();
    assertThat(scan.found().values()).extracting(LogPaths.Found::path)
        .containsExactlyInAnyOrder(logs.resolve("a.log"), logs.resolve("b.log"));
    assertThat(found.indexOf(scan)).isEqualTo(2);
    assertThat(found.subList(0, 2)).allMatch(o -> o instanceof Discovery.Seen s && s.initial() && s.channel() != null);
  }
}
