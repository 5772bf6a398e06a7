package dev.sidecars.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * CPU time and resident memory of the processes under test (the hop: a JVM, or nginx's master and its
 * worker), read from the system while the load runs, so each phase's figures cover exactly its window.
 */
final class ProcessWatch {
  private final List<ProcessHandle> roots;

  private ProcessWatch(List<ProcessHandle> roots) {
    this.roots = roots;
  }

  /** From a comma-separated list of process ids (empty: nothing watched); each with its descendants. */
  static ProcessWatch of(String pids) {
    List<ProcessHandle> roots = new ArrayList<>();
    for (String pid : pids.split(",")) {
      if (!pid.isBlank()) {
        roots.add(ProcessHandle.of(Long.parseLong(pid.trim()))
            .orElseThrow(() -> new IllegalArgumentException("no process " + pid.trim())));
      }
    }
    return new ProcessWatch(List.copyOf(roots));
  }

  boolean watching() {
    return !roots.isEmpty();
  }

  private Stream<ProcessHandle> processes() {
    // distinct: a root may also be another root's descendant (nginx's worker listed beside its master).
    return roots.stream().flatMap(r -> Stream.concat(Stream.of(r), r.descendants())).distinct();
  }

  /** User plus system CPU time of the processes alive now. */
  Duration cpu() {
    return processes().map(p -> p.info().totalCpuDuration().orElse(Duration.ZERO))
        .reduce(Duration.ZERO, Duration::plus);
  }

  /** Resident set size in kB (VmRSS), summed over the processes alive now. */
  long rssKb() {
    long kb = 0;
    for (ProcessHandle p : (Iterable<ProcessHandle>) processes()::iterator) {
      kb += vmRssKb(p.pid()).orElse(0L);
    }
    return kb;
  }

  private static Optional<Long> vmRssKb(long pid) {
    try (Stream<String> lines = Files.lines(Path.of("/proc", Long.toString(pid), "status"))) {
      return lines.filter(l -> l.startsWith("VmRSS:"))
          .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")))
          .findFirst();
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // gone, or no /proc: not counted
    }
  }
}
