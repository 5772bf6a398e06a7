package dev.sidecars.collector;

import dev.sidecars.runtime.ConsoleLogging;
import dev.sidecars.runtime.Sidecar;
import dev.sidecars.runtime.StartLine;
import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.lifecycle.Lifecycle;

/** {@code java -jar collector-stub.jar}: configured by environment variables, stopped by SIGTERM. */
public final class CollectorStubMain {
  private CollectorStubMain() {}

  public static void main(String[] args) {
    CollectorStubConfig config;
    try {
      config = CollectorStubConfig.from(Settings.fromEnvironment());
    } catch (ConfigException e) {
      e.problems().forEach(p -> System.err.println("collector-stub: " + p));
      System.exit(Sidecar.EXIT_BAD_CONFIG);
      return;
    }
    ConsoleLogging.configure(config.logLevel());
    CollectorStub stub;
    try {
      stub = CollectorStub.start(config);
    } catch (RuntimeException e) {
      System.err.println("collector-stub: failed to start: " + e.getMessage()
          + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"));
      System.exit(1);
      return;
    }
    Lifecycle lifecycle = new Lifecycle(config.shutdownGrace());
    lifecycle.onClose("collector-stub", stub::stop);
    lifecycle.installShutdownHook();
    System.out.println(StartLine.format("collector-stub", Sidecar.versionOf(CollectorStubMain.class), stub.ports()));
    System.out.println("web UI: " + stub.uiUrl() + "/");
    System.out.flush();
    lifecycle.stopped().join();
  }
}
