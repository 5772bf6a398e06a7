package dev.sidecars.demo.launch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's process handling, on real child processes: start order, readiness, stop order, cleanup. */
class ProcessGroupTest {
  @TempDir Path dir;
  private final List<String> progress = new ArrayList<>();
  private ProcessGroup group;

  @AfterEach
  void tearDown() {
    if (group != null) {
      group.stop();
    }
  }

  private ProcessGroup group(Duration grace) {
    group = new ProcessGroup(dir.resolve("output"), grace, line -> {
      synchronized (progress) {
        progress.add(line);
      }
    });
    return group;
  }

  private ProcessSpec fake(String name, Stage stage, String... env) {
    Map<String, String> vars = new HashMap<>();
    vars.put("NAME", name);
    vars.put("STOP_LOG", dir.resolve("stops.log").toString());
    for (int i = 0; i < env.length; i += 2) {
      vars.put(env[i], env[i + 1]);
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return ProcessSpec.of(name, stage, List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
        System.getProperty("java.class.path"), FakeComponent.class.getName()), vars);
  }

  private List<String> stopLog() throws IOException {
    Path log = dir.resolve("stops.log");
    return Files.exists(log) ? Files.readAllLines(log) : List.of();
  }

  @Test
  void stopsLoadThenAppsThenSidecarsThenTheCollectorWhateverTheStartOrder() throws IOException {
    ProcessGroup group = group(Duration.ofSeconds(10));
    RunningProcess collector = group.start(fake("collector", Stage.COLLECTOR)).get(0);
    group.start(fake("app", Stage.APP), fake("forwarder", Stage.FORWARDER));
    group.start(fake("proxy", Stage.PROXY));
    group.start(fake("load", Stage.LOAD));

    List<ProcessGroup.Stopped> stopped = group.stop();

    assertThat(collector.outputLines()).as("what it printed while stopping is kept").endsWith("collector exiting");
    assertThat(stopped).extracting(ProcessGroup.Stopped::name)
        .containsExactly("load", "app", "proxy", "forwarder", "collector");
    assertThat(stopped).allSatisfy(s -> {
      assertThat(s.exitCode()).isZero();
      assertThat(s.killed()).isFalse();
    });
    // Each stage had exited before the next one was signalled.
    assertThat(stopLog()).containsExactly("term load", "exit load", "term app", "exit app", "term proxy",
        "exit proxy", "term forwarder", "exit forwarder", "term collector", "exit collector");
    assertThat(group.stop()).as("a second stop stops nothing more").hasSize(5);
  }

  @Test
  void readsPortsFromTheStartLineAndKeepsTheOutput() {
    RunningProcess p = group(Duration.ofSeconds(10)).start(fake("one", Stage.APP)).get(0);

    assertThat(p.startLine()).startsWith("one fake listening on admin=");
    assertThat(p.port("admin")).isPositive();
    assertThat(p.outputLines()).contains("some noise before the start line", p.startLine());
  }

  @Test
  void returnsOnlyOnceTheReadyCheckPasses() throws Exception {
    RunningProcess p = group(Duration.ofSeconds(10))
        .start(fake("slow", Stage.PROXY, "READY_AFTER_MS", "1500").readyWhen("admin", "/readyz")).get(0);

    HttpResponse<String> readyz = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port("admin") + "/readyz")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(readyz.statusCode()).isEqualTo(200);
  }

  @Test
  void aFailedStartStopsEverythingStartedBeforeIt() throws IOException {
    ProcessGroup group = group(Duration.ofSeconds(10));
    RunningProcess collector = group.start(fake("collector", Stage.COLLECTOR)).get(0);
    RunningProcess app = group.start(fake("app", Stage.APP)).get(0);

    assertThatThrownBy(() -> group.start(fake("proxy", Stage.PROXY), fake("broken", Stage.PROXY, "EXIT_AT_START", "3"),
        fake("late", Stage.PROXY)))
        .isInstanceOfSatisfying(StartFailure.class, e -> {
          assertThat(e.process()).isEqualTo("broken");
          assertThat(e.getMessage()).contains("exited with status 3").contains("broken: refusing to start");
        });

    assertThat(collector.isAlive()).isFalse();
    assertThat(app.isAlive()).isFalse();
    assertThat(group.processes()).isEmpty();
    // Those started before, in order, and those of the failed wave: none is left, whichever side of the
    // failing one it was launched.
    assertThat(stopLog()).containsSubsequence("exit app", "term collector");
    assertThat(liveChildren()).isEmpty();
  }

  @Test
  void aProcessNeverReadyFailsAfterItsTimeoutAndIsNotLeftRunning() {
    ProcessGroup group = group(Duration.ofSeconds(10));
    ProcessSpec never = fake("never", Stage.PROXY, "READY_AFTER_MS", "-1").readyWhen("admin", "/readyz")
        .startTimeout(Duration.ofSeconds(2));

    assertThatThrownBy(() -> group.start(never))
        .isInstanceOf(StartFailure.class)
        .hasMessageContaining("/readyz not ready within 2s")
        .hasMessageContaining("503 not yet");
    assertThat(group.processes()).isEmpty();
    assertThat(liveChildren()).isEmpty();
  }

  @Test
  void killsAProcessThatIgnoresSigtermAfterTheGracePeriod() throws IOException {
    ProcessGroup group = group(Duration.ofSeconds(1));
    RunningProcess hung = group.start(fake("hung", Stage.APP, "IGNORE_TERM", "1")).get(0);

    List<ProcessGroup.Stopped> stopped = group.stop();

    assertThat(stopped).singleElement().satisfies(s -> assertThat(s.killed()).isTrue());
    assertThat(hung.isAlive()).isFalse();
    assertThat(stopLog()).containsExactly("term hung");
  }

  @Test
  void aStopWhileAStartIsWaitingEndsTheStartAndLeavesNothingRunning() throws Exception {
    ProcessGroup group = group(Duration.ofSeconds(10));
    group.start(fake("collector", Stage.COLLECTOR));
    java.util.concurrent.CompletableFuture<Throwable> starting = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        group.start(fake("never", Stage.PROXY, "READY_AFTER_MS", "-1").readyWhen("admin", "/readyz"));
        return null;
      } catch (RuntimeException e) {
        return e;
      }
    });
    Path output = dir.resolve("output/never.out");
    org.awaitility.Awaitility.await("the start is waiting for /readyz").atMost(Duration.ofSeconds(30))
        .until(() -> Files.exists(output) && Files.readString(output).contains("listening"));

    long before = System.nanoTime();
    group.stop();

    assertThat(Duration.ofNanos(System.nanoTime() - before)).as("Ctrl-C is not held up by a start in progress")
        .isLessThan(Duration.ofSeconds(10));
    assertThat(starting.get(10, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(StartFailure.class)
        .hasMessageContaining("the group is stopping");
    assertThat(liveChildren()).isEmpty();
    assertThatThrownBy(() -> group.start(fake("after", Stage.APP))).isInstanceOf(StartFailure.class);
    assertThat(liveChildren()).isEmpty();
  }

  private static List<ProcessHandle> liveChildren() {
    return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
  }

  @Test
  void theNextGroupStopsWhatADeadLauncherLeftRunning() {
    // A group that is never stopped, as when its launcher is killed with SIGKILL.
    ProcessGroup abandoned = new ProcessGroup(dir.resolve("output"), Duration.ofSeconds(10), line -> {});
    RunningProcess orphan = abandoned.start(fake("orphan", Stage.APP)).get(0);

    int stopped = group(Duration.ofSeconds(10)).stopLeftovers();

    assertThat(stopped).isEqualTo(1);
    assertThat(orphan.isAlive()).isFalse();
    assertThat(group.stopLeftovers()).as("nothing the second time").isZero();
    assertThat(dir.resolve("output/pids")).doesNotExist();
  }

  @Test
  void restartsAKilledMember() {
    ProcessGroup group = group(Duration.ofSeconds(10));
    RunningProcess first = group.start(fake("app", Stage.APP)).get(0);
    group.kill("app");
    assertThat(first.isAlive()).isFalse();

    RunningProcess second = group.restart(first.spec());

    assertThat(second.isAlive()).isTrue();
    assertThat(second.pid()).isNotEqualTo(first.pid());
    assertThat(group.get("app")).isSameAs(second);
  }
}
