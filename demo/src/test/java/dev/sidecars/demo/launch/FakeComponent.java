package dev.sidecars.demo.launch;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A stand-in component for the launcher's tests, run as a real child process: prints a start line with an
 * {@code admin} port whose {@code /readyz} turns 200 after {@code READY_AFTER_MS} (never when negative),
 * appends {@code term NAME} to {@code STOP_LOG} when SIGTERM arrives and {@code exit NAME} 300 ms later as it exits, and can refuse to start
 * ({@code EXIT_AT_START}) or ignore SIGTERM ({@code IGNORE_TERM}).
 */
public final class FakeComponent {
  private FakeComponent() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    String name = System.getenv("NAME");
    if (System.getenv("EXIT_AT_START") != null) {
      System.out.println(name + ": refusing to start");
      System.exit(Integer.parseInt(System.getenv("EXIT_AT_START")));
    }
    long readyAfter = Long.parseLong(System.getenv().getOrDefault("READY_AFTER_MS", "0"));
    long started = System.nanoTime();
    HttpServer admin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    admin.createContext("/readyz", exchange -> {
      boolean ready = readyAfter >= 0 && System.nanoTime() - started >= readyAfter * 1_000_000;
      byte[] body = (ready ? "ready" : "not yet").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(ready ? 200 : 503, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    admin.start();
    boolean ignoreTerm = System.getenv("IGNORE_TERM") != null;
    Path stopLog = Path.of(System.getenv("STOP_LOG"));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      append(stopLog, "term " + name);
      if (ignoreTerm) {
        // Blocks the exit until SIGKILL, as a hung component would.
        Object never = new Object();
        synchronized (never) {
          try {
            never.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
      // A component takes a moment to drain: the group must wait for the exit, not just signal.
      try {
        Thread.sleep(300);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      append(stopLog, "exit " + name);
      System.out.println(name + " exiting");
      System.out.flush();
      Runtime.getRuntime().halt(0);
    }));
    System.out.println("some noise before the start line");
    System.out.println(name + " fake listening on admin=" + admin.getAddress().getPort());
    System.out.flush();
    Thread.currentThread().join();
  }

  private static void append(Path file, String line) {
    try {
      Files.writeString(file, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
