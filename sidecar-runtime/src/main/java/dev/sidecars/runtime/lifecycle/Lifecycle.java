package dev.sidecars.runtime.lifecycle;

import dev.sidecars.runtime.ConsoleLogging;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;

/**
 * The stop sequence every component shares: stop being ready, drain in-flight work, flush telemetry,
 * close servers, all within one grace period. SIGTERM, SIGINT and {@code POST /shutdown} all run it once;
 * the process then exits 0.
 */
public final class Lifecycle {
  private static final Duration MAX_FLUSH_RESERVE = Duration.ofSeconds(5);

  /** One step of the stop sequence; it should return by {@code budget}, and is abandoned after it. */
  @FunctionalInterface
  public interface Step {
    void run(Duration budget) throws Exception;
  }

  private record NamedStep(String name, Step step) {}

  private final Duration grace;
  private final List<NamedStep> drains = new ArrayList<>();
  private final List<NamedStep> flushes = new ArrayList<>();
  private final List<NamedStep> closes = new ArrayList<>();
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();
  private volatile boolean stopping;
  private volatile boolean hookInstalled;
  private volatile int exitCode;

  public Lifecycle(Duration grace) {
    this.grace = grace;
  }

  public Duration grace() {
    return grace;
  }

  /** Work to finish before telemetry is flushed, such as in-flight requests; runs in the order added. */
  public synchronized Lifecycle onDrain(String name, Step step) {
    drains.add(new NamedStep(name, step));
    return this;
  }

  /** Telemetry to flush once the drain is over. */
  public synchronized Lifecycle onFlush(String name, Step step) {
    flushes.add(new NamedStep(name, step));
    return this;
  }

  /** Resources to release last, in the reverse of the order added. */
  public synchronized Lifecycle onClose(String name, Step step) {
    closes.add(0, new NamedStep(name, step));
    return this;
  }

  /** True from the moment the stop sequence begins; readiness reports 503 from then on. */
  public boolean isStopping() {
    return stopping;
  }

  /** Completes once the stop sequence has run. */
  public CompletableFuture<Void> stopped() {
    return stopped;
  }

  /** Starts the stop sequence on its own thread, once; later calls return the same future. */
  public synchronized CompletableFuture<Void> stop() {
    if (!stopping) {
      stopping = true;
      Thread stopper = new Thread(this::runStopSequence, "lifecycle-stop");
      stopper.setDaemon(false);
      stopper.start();
    }
    return stopped;
  }

  /** What is kept of the grace period for the telemetry flush: a quarter, at most 5 s. */
  private static Duration flushReserve(Duration grace) {
    return grace.dividedBy(4).compareTo(MAX_FLUSH_RESERVE) < 0 ? grace.dividedBy(4) : MAX_FLUSH_RESERVE;
  }

  /**
   * The line a stop begins with, e.g. {@code stopping: draining 15s at most, then flushing telemetry} for a
   * grace period of 20 s, so whoever stopped the process knows what it waits for.
   */
  public static String stoppingMessage(Duration grace) {
    return "stopping: draining " + seconds(grace.minus(flushReserve(grace))) + " at most, then flushing telemetry";
  }

  private static String seconds(Duration d) {
    return java.math.BigDecimal.valueOf(d.toMillis(), 3).stripTrailingZeros().toPlainString() + "s";
  }

  private void runStopSequence() {
    long start = System.nanoTime();
    long end = start + grace.toNanos();
    long drainEnd = end - flushReserve(grace).toNanos();
    // Straight to standard error: once the JVM shuts down, records logged through java.util.logging are lost.
    ConsoleLogging.print(Level.INFO, "Lifecycle", stoppingMessage(grace));
    List<NamedStep> d;
    List<NamedStep> f;
    List<NamedStep> c;
    synchronized (this) {
      d = List.copyOf(drains);
      f = List.copyOf(flushes);
      c = List.copyOf(closes);
    }
    try {
      d.forEach(step -> runStep(step, drainEnd));
      f.forEach(step -> runStep(step, end));
      c.forEach(step -> runStep(step, end));
    } finally {
      ConsoleLogging.print(Level.INFO, "Lifecycle",
          "stopped in " + Duration.ofNanos(System.nanoTime() - start).toMillis() + " ms");
      stopped.complete(null);
    }
  }

  private static void runStep(NamedStep step, long deadlineNanos) {
    Duration budget = Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime()));
    CompletableFuture<Void> done =
        CompletableFuture.runAsync(
            () -> {
              try {
                step.step().run(budget);
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            },
            runnable -> {
              Thread t = new Thread(runnable, "lifecycle-" + step.name());
              t.setDaemon(true);
              t.start();
            });
    try {
      done.get(budget.toMillis() + 50, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      ConsoleLogging.print(Level.WARNING, "Lifecycle",
          "stop step '" + step.name() + "' did not finish within " + budget.toMillis() + " ms; abandoned");
    } catch (ExecutionException e) {
      ConsoleLogging.print(Level.WARNING, "Lifecycle", "stop step '" + step.name() + "' failed ("
          + (e.getCause().getCause() != null ? e.getCause().getCause() : e.getCause()) + ")");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Makes SIGTERM and SIGINT run the stop sequence, then end the process with {@link #exitCode} (0
   * unless a caller set another), instead of the JVM's 143.
   */
  public void installShutdownHook() {
    hookInstalled = true;
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stop();
                  try {
                    stopped.get(grace.toMillis() + 1000, TimeUnit.MILLISECONDS);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  } catch (ExecutionException | TimeoutException e) {
                    ConsoleLogging.print(Level.WARNING, "Lifecycle", "stop sequence overran the grace period; exiting anyway");
                  }
                  System.out.flush();
                  System.err.flush();
                  // halt keeps the exit status ours: the JVM would report 143 for a SIGTERM.
                  Runtime.getRuntime().halt(exitCode);
                },
                "lifecycle-shutdown-hook"));
  }

  /**
   * Ends the process through the stop sequence, as SIGTERM would; used by {@code POST /shutdown}.
   * Without {@link #installShutdownHook()} (a sidecar started inside another program, such as a test)
   * it only runs the stop sequence: System.exit would skip it and end a process this lifecycle does
   * not own.
   */
  public void exit(int code) {
    exitCode = code;
    if (!hookInstalled) {
      stop();
      return;
    }
    Thread exiter = new Thread(() -> System.exit(code), "lifecycle-exit");
    exiter.setDaemon(true);
    exiter.start();
  }
}
