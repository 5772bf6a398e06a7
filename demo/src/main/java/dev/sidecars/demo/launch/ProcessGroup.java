package dev.sidecars.demo.launch;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The processes of one topology, started in waves and stopped in {@link Stage} order.
 *
 * <p>Each {@link #start} launches a wave of processes together and returns once every one of them has
 * printed its start line and passed its ready check, so the next wave can be given their ports. If any
 * fails, everything the group started is stopped before {@link StartFailure} is thrown: a failed start
 * leaves nothing behind. {@link #stop} (and {@link #close}) sends SIGTERM stage by stage, waits up to the
 * grace period for each stage, and kills what is left.
 *
 * <p>Signals go through {@link ProcessHandle}, not {@link Process#destroy}, which also closes the pipe and
 * so would lose what a process prints while it stops (its last access-log lines, its exit message).
 *
 * <p>Children run in their own session (via {@code setsid} where it exists), so a Ctrl-C in the terminal
 * reaches only the launcher, which then stops them in order rather than all at once.
 */
public final class ProcessGroup implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  /** Where each started process is listed, so a launcher that dies unstopped leaves a trace. */
  private static final String PIDS = "pids";

  private final Path outputDir;
  private final Duration stopGrace;
  private final Consumer<String> progress;
  private final Optional<String> setsid;
  private final Map<String, RunningProcess> running = new LinkedHashMap<>();
  private final List<Stopped> stopped = new ArrayList<>();
  /** Set by {@link #stop} before it waits for the lock, so a start in progress gives up at once. */
  private volatile boolean closed;

  /** How one process ended when the group stopped it. */
  public record Stopped(String name, Stage stage, int exitCode, boolean killed) {}

  /**
   * @param outputDir where each process's output goes, as {@code <name>.out}
   * @param stopGrace how long each stage may take to exit after SIGTERM before it is killed
   * @param progress told of each start and stop, one line each
   */
  public ProcessGroup(Path outputDir, Duration stopGrace, Consumer<String> progress) {
    this.outputDir = outputDir;
    this.stopGrace = stopGrace;
    this.progress = progress;
    this.setsid = onPath("setsid");
  }

  /** Starts {@code specs} together and waits until each is up; see the class comment for failures. */
  public synchronized List<RunningProcess> start(ProcessSpec... specs) {
    for (ProcessSpec spec : specs) {
      if (running.containsKey(spec.name())) {
        throw new IllegalArgumentException("already running: " + spec.name());
      }
    }
    if (closed) {
      throw new StartFailure(specs.length == 0 ? "?" : specs[0].name(), "the group is stopping");
    }
    List<Launched> wave = new ArrayList<>();
    try {
      for (ProcessSpec spec : specs) {
        wave.add(launch(spec));
      }
      List<RunningProcess> up = new ArrayList<>();
      for (Launched launched : wave) {
        RunningProcess process = awaitUp(launched);
        running.put(process.name(), process);
        up.add(process);
        progress.accept("started " + process.name() + " (pid " + process.pid() + ") " + process.ports());
      }
      return up;
    } catch (RuntimeException e) {
      for (Launched launched : wave) {
        if (!running.containsKey(launched.spec.name())) {
          launched.process.toHandle().destroyForcibly();
          waitQuietly(launched.process);
        }
      }
      stopMembers();
      throw e;
    }
  }

  /**
   * Stops what an earlier group in the same output directory left running because its launcher died
   * without stopping it (SIGKILL, out of memory): every process it started is listed in {@code pids},
   * with its start time so that a pid reused since is left alone. Returns how many were stopped.
   */
  public synchronized int stopLeftovers() {
    Path list = outputDir.resolve(PIDS);
    if (!Files.exists(list)) {
      return 0;
    }
    List<ProcessHandle> leftovers = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(list, StandardCharsets.UTF_8)) {
        String[] fields = line.trim().split(" ");
        if (fields.length != 2) {
          continue;
        }
        long started = Long.parseLong(fields[1]);
        ProcessHandle.of(Long.parseLong(fields[0]))
            .filter(ProcessHandle::isAlive)
            .filter(h -> h.info().startInstant().map(t -> t.toEpochMilli() == started).orElse(false))
            .ifPresent(leftovers::add);
      }
      leftovers.forEach(ProcessHandle::destroy);
      for (ProcessHandle leftover : leftovers) {
        try {
          leftover.onExit().get(stopGrace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
          leftover.destroyForcibly();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          leftover.destroyForcibly();
        }
      }
      Files.delete(list);
    } catch (IOException | NumberFormatException e) {
      progress.accept("cannot read " + list + ": " + e.getMessage());
    }
    return leftovers.size();
  }

  /** Stops {@code name} with SIGKILL, as a crash would; it stays in the group, dead, until restarted. */
  public synchronized void kill(String name) {
    RunningProcess process = get(name);
    process.process().toHandle().destroyForcibly();
    try {
      process.process().waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    progress.accept("killed " + name);
  }

  /** Stops {@code name} with SIGTERM and waits for it, e.g. to take the collector away for a while. */
  public synchronized int terminate(String name) {
    RunningProcess process = get(name);
    process.process().toHandle().destroy();
    Stopped result = awaitExit(process, System.nanoTime() + stopGrace.toNanos());
    progress.accept("stopped " + name + " (exit " + result.exitCode() + ")");
    return result.exitCode();
  }

  /** Starts a stopped or killed member again with {@code spec} (usually its old one, pinned to its ports). */
  public synchronized RunningProcess restart(ProcessSpec spec) {
    RunningProcess old = running.remove(spec.name());
    if (old != null && old.isAlive()) {
      running.put(spec.name(), old);
      throw new IllegalStateException(spec.name() + " is still running");
    }
    return start(spec).get(0);
  }

  public synchronized RunningProcess get(String name) {
    RunningProcess process = running.get(name);
    if (process == null) {
      throw new IllegalArgumentException("no process " + name + " in " + running.keySet());
    }
    return process;
  }

  public synchronized List<RunningProcess> processes() {
    return List.copyOf(running.values());
  }

  /**
   * Stops every member, stage by stage in {@link Stage} order (within a stage, all at once), and returns how
   * each ended, in the order they were stopped. Calling it again stops nothing more.
   */
  public List<Stopped> stop() {
    closed = true;
    return stopMembers();
  }

  private synchronized List<Stopped> stopMembers() {
    List<RunningProcess> order = new ArrayList<>(running.values());
    order.sort(Comparator.comparing((RunningProcess p) -> p.spec().stage()));
    for (Stage stage : Stage.values()) {
      List<RunningProcess> members = order.stream().filter(p -> p.spec().stage() == stage).toList();
      if (members.isEmpty()) {
        continue;
      }
      // SIGTERM to the whole stage first, so its members drain side by side.
      members.forEach(p -> p.process().toHandle().destroy());
      long deadline = System.nanoTime() + stopGrace.toNanos();
      for (RunningProcess member : members) {
        Stopped result = awaitExit(member, deadline);
        stopped.add(result);
        progress.accept("stopped " + member.name() + " (exit " + result.exitCode()
            + (result.killed() ? ", killed after " + stopGrace.toSeconds() + "s" : "") + ")");
      }
    }
    running.clear();
    try {
      Files.deleteIfExists(outputDir.resolve(PIDS));
    } catch (IOException e) {
      // only the next launcher's leftover check reads it, and it checks start times
    }
    return List.copyOf(stopped);
  }

  @Override
  public void close() {
    stop();
  }

  private Stopped awaitExit(RunningProcess member, long deadlineNanos) {
    Process process = member.process();
    boolean killed = false;
    try {
      long left = Math.max(0, deadlineNanos - System.nanoTime());
      if (!process.waitFor(left, TimeUnit.NANOSECONDS)) {
        killed = true;
        process.toHandle().destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.toHandle().destroyForcibly();
      killed = true;
    }
    return new Stopped(member.name(), member.spec().stage(), process.isAlive() ? -1 : process.exitValue(), killed);
  }

  private record Launched(ProcessSpec spec, Process process, Path output, CompletableFuture<String> startLine,
      Deque<String> tail) {}

  private Launched launch(ProcessSpec spec) {
    List<String> command = new ArrayList<>();
    setsid.ifPresent(command::add);
    command.addAll(spec.command());
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    Map<String, String> env = builder.environment();
    String path = env.get("PATH");
    String home = env.get("HOME");
    env.clear();
    if (path != null) {
      env.put("PATH", path);
    }
    if (home != null) {
      env.put("HOME", home);
    }
    env.putAll(spec.env());
    Path output = outputDir.resolve(spec.name() + ".out");
    try {
      Files.createDirectories(outputDir);
      Process process = builder.start();
      recordPid(process);
      CompletableFuture<String> startLine = new CompletableFuture<>();
      Deque<String> tail = new ArrayDeque<>();
      Thread pump = new Thread(() -> pump(spec, process, output, startLine, tail), spec.name() + "-output");
      pump.setDaemon(true);
      pump.start();
      return new Launched(spec, process, output, startLine, tail);
    } catch (IOException e) {
      throw new StartFailure(spec.name(), "cannot run " + spec.command() + ": " + e.getMessage());
    }
  }

  /**
   * Copies the output to its file line by line, picks out the start line on the way, and keeps the last
   * lines for failure messages. Keeps draining the pipe even when the file cannot be written, so a child
   * never blocks on a full pipe.
   */
  private static void pump(ProcessSpec spec, Process process, Path output, CompletableFuture<String> startLine,
      Deque<String> tail) {
    BufferedWriter out = null;
    try {
      out = Files.newBufferedWriter(output, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      remember(tail, "(cannot write " + output + ": " + e.getMessage() + ")");
    }
    try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        if (out != null) {
          try {
            out.write(line);
            out.newLine();
            out.flush();
          } catch (IOException e) {
            remember(tail, "(cannot write " + output + ": " + e.getMessage() + ")");
            out = null;
          }
        }
        remember(tail, line);
        if (!startLine.isDone() && spec.startLine().matcher(line).matches()) {
          startLine.complete(line);
        }
      }
    } catch (IOException e) {
      // the process is gone; the start wait reports it
    } finally {
      startLine.complete(null);
      if (out != null) {
        try {
          out.close();
        } catch (IOException e) {
          // nothing more to write
        }
      }
    }
  }

  private static void remember(Deque<String> tail, String line) {
    synchronized (tail) {
      tail.addLast(line);
      if (tail.size() > 20) {
        tail.removeFirst();
      }
    }
  }

  private RunningProcess awaitUp(Launched launched) {
    ProcessSpec spec = launched.spec;
    long deadline = System.nanoTime() + spec.startTimeout().toNanos();
    String line = null;
    while (line == null) {
      try {
        line = launched.startLine.get(100, TimeUnit.MILLISECONDS);
        if (line == null) {
          break;
        }
      } catch (java.util.concurrent.TimeoutException e) {
        if (closed) {
          throw failure(launched, "the group is stopping");
        }
        if (System.nanoTime() > deadline) {
          throw failure(launched, "printed no start line within " + spec.startTimeout().toSeconds() + "s");
        }
      } catch (java.util.concurrent.ExecutionException e) {
        throw failure(launched, e.getCause().toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure(launched, "interrupted");
      }
    }
    if (line == null) {
      waitQuietly(launched.process);
      throw failure(launched, launched.process.isAlive() ? "closed its output"
          : "exited with status " + launched.process.exitValue());
    }
    RunningProcess process = new RunningProcess(spec, launched.process, line, launched.output);
    if (spec.readyCheck().isPresent()) {
      awaitReady(launched, process, spec.readyCheck().get(), deadline);
    }
    return process;
  }

  private void awaitReady(Launched launched, RunningProcess process, ProcessSpec.ReadyCheck check, long deadline) {
    URI uri = URI.create("http://127.0.0.1:" + process.port(check.port()) + check.path());
    String last = "no answer";
    while (true) {
      try {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          return;
        }
        last = response.statusCode() + " " + response.body().strip();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure(launched, "interrupted");
      }
      try {
        // Waiting on the process doubles as the poll interval and notices an exit at once.
        if (launched.process.waitFor(100, TimeUnit.MILLISECONDS)) {
          throw failure(launched, "exited with status " + launched.process.exitValue() + " before " + uri.getPath()
              + " was ready");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure(launched, "interrupted");
      }
      if (closed) {
        throw failure(launched, "the group is stopping");
      }
      if (System.nanoTime() > deadline) {
        throw failure(launched, uri.getPath() + " not ready within " + launched.spec.startTimeout().toSeconds()
            + "s (last answer: " + last + ")");
      }
    }
  }

  private static void waitQuietly(Process process) {
    try {
      process.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static StartFailure failure(Launched launched, String reason) {
    String tail;
    synchronized (launched.tail) {
      tail = String.join("\n  ", launched.tail);
    }
    return new StartFailure(launched.spec.name(), reason + (tail.isEmpty() ? "" : "; last output:\n  " + tail));
  }

  private void recordPid(Process process) throws IOException {
    long started = process.toHandle().info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
    Files.writeString(outputDir.resolve(PIDS), process.pid() + " " + started + "\n", StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  private static Optional<String> onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    return Arrays.stream(path.split(java.io.File.pathSeparator))
        .map(dir -> Path.of(dir, program))
        .filter(Files::isExecutable)
        .map(Path::toString)
        .findFirst();
  }
}
