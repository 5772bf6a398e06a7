package dev.sidecars.testing;

import dev.sidecars.runtime.StartLine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A component's {@code main} run as a real child process on this test's classpath, as a user would run
 * its jar: the environment is only what the test gives, the ports come from its start line, and stopping
 * it sends SIGTERM.
 */
public final class SidecarProcess implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private final Process process;
  private final String startLine;
  private final Map<String, Integer> ports;
  private final List<String> stdout;
  private final List<String> stderr;

  private SidecarProcess(Process process, String startLine, List<String> stdout, List<String> stderr) {
    this.process = process;
    this.startLine = startLine;
    this.stdout = stdout;
    this.stderr = stderr;
    this.ports = StartLine.ports(startLine);
  }

  /**
   * Starts {@code mainClass} with exactly {@code env} (plus {@code PATH} and {@code HOME}) and waits for its
   * start line; fails with its stderr if it exits or stays silent for 30 seconds.
   */
  public static SidecarProcess start(Class<?> mainClass, Map<String, String> env) {
    return start(mainClass, env, List.of());
  }

  /**
   * As {@link #start(Class, Map)}, with the JVM run by {@code wrapper} (a command that runs the rest of
   * its arguments, such as {@code setpriv} with fewer capabilities).
   */
  public static SidecarProcess start(Class<?> mainClass, Map<String, String> env, List<String> wrapper) {
    Process process = launch(mainClass, env, wrapper);
    BufferedReader out = reader(process.getInputStream());
    List<String> err = Collections.synchronizedList(new ArrayList<>());
    pump(reader(process.getErrorStream()), err, "stderr");
    CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> {
      try {
        return out.readLine();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    String line;
    try {
      line = first.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new IllegalStateException(e);
    } catch (ExecutionException | TimeoutException e) {
      process.destroyForcibly();
      throw new IllegalStateException(mainClass.getSimpleName() + " printed no start line; stderr: " + err, e);
    }
    if (!StartLine.isStartLine(line)) {
      process.destroyForcibly();
      throw new IllegalStateException(mainClass.getSimpleName() + " did not start: first line " + line + "; stderr: " + err);
    }
    List<String> rest = Collections.synchronizedList(new ArrayList<>());
    pump(out, rest, "stdout");
    return new SidecarProcess(process, line, rest, err);
  }

  /**
   * A {@code wrapper} for {@link #start(Class, Map, List)}: the JVM runs with {@code memory} (e.g. {@code 64m})
   * of heap and as much direct memory instead of the usual 256 MiB heap, so a test can show a stream passes
   * without buffering.
   */
  public static List<String> boundedMemory(String memory) {
    // The launcher's command is [java, -Xmx256m, ...]: keep java, drop its -Xmx.
    return List.of("sh", "-c",
        "java=\"$1\"; shift 2; exec \"$java\" -Xmx" + memory + " -XX:MaxDirectMemorySize=" + memory
            + " -Dio.netty.leakDetection.level=disabled \"$@\"",
        "bounded-jvm");
  }

  /** Runs {@code mainClass} to its end, for components expected to refuse to start. */
  public static Result run(Class<?> mainClass, Map<String, String> env, Duration timeout) {
    Process process = launch(mainClass, env, List.of());
    List<String> out = Collections.synchronizedList(new ArrayList<>());
    List<String> err = Collections.synchronizedList(new ArrayList<>());
    Thread o = pump(reader(process.getInputStream()), out, "stdout");
    Thread e = pump(reader(process.getErrorStream()), err, "stderr");
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(mainClass.getSimpleName() + " did not exit within " + timeout);
      }
      o.join(5000);
      e.join(5000);
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(ex);
    }
    return new Result(process.exitValue(), List.copyOf(out), List.copyOf(err));
  }

  /** How a finished process ended. */
  public record Result(int exitCode, List<String> stdout, List<String> stderr) {}

  private static Process launch(Class<?> mainClass, Map<String, String> env, List<String> wrapper) {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command = new ArrayList<>(wrapper);
    // boundedMemory relies on -Xmx coming second.
    command.addAll(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        mainClass.getName()));
    ProcessBuilder pb = new ProcessBuilder(command);
    Map<String, String> environment = pb.environment();
    String path = environment.get("PATH");
    String home = environment.get("HOME");
    environment.clear();
    if (path != null) {
      environment.put("PATH", path);
    }
    if (home != null) {
      environment.put("HOME", home);
    }
    environment.putAll(env);
    try {
      return pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static BufferedReader reader(java.io.InputStream in) {
    return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
  }

  private static Thread pump(BufferedReader in, List<String> sink, String name) {
    Thread t = new Thread(() -> {
      try {
        for (String line; (line = in.readLine()) != null; ) {
          sink.add(line);
        }
      } catch (IOException e) {
        // the process ended
      }
    }, "sidecar-process-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  public String startLine() {
    return startLine;
  }

  /** Ports by name from the start line, e.g. {@code admin}. */
  public Map<String, Integer> ports() {
    return ports;
  }

  public int port(String name) {
    Integer port = ports.get(name);
    if (port == null) {
      throw new IllegalArgumentException("no port " + name + " in: " + startLine);
    }
    return port;
  }

  /** Lines printed on stdout after the start line, so far. */
  public List<String> stdout() {
    synchronized (stdout) {
      return List.copyOf(stdout);
    }
  }

  public List<String> stderr() {
    synchronized (stderr) {
      return List.copyOf(stderr);
    }
  }

  /** {@code GET} of {@code path} on the admin port, e.g. {@code admin("/readyz")}. */
  public HttpResponse<String> admin(String path) {
    return adminRequest("GET", path);
  }

  /** Any method on the admin port, e.g. {@code adminRequest("POST", "/shutdown")}. */
  public HttpResponse<String> adminRequest(String method, String path) {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port("admin") + path))
        .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody()).build();
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public Process process() {
    return process;
  }

  /** Sends SIGTERM and waits for the exit code. */
  public int stop(Duration timeout) {
    process.destroy();
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException("did not exit within " + timeout + " of SIGTERM");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
