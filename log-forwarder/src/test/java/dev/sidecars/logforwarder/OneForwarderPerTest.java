package dev.sidecars.logforwarder;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.runtime.Sidecar;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forwarder started by each test on fresh log and state directories, sending to the test class's
 * collector, and closed after it.
 */
abstract class OneForwarderPerTest {
  @TempDir Path logs;
  @TempDir Path state;
  Sidecar sidecar;

  /** The class's collector-stub (a static extension, started once per class). */
  abstract CollectorStubExtension collector();

  /** Starts the forwarder with {@link ForwarderHarness#env} plus {@code extra}. */
  void start(Map<String, String> extra) throws Exception {
    Map<String, String> env = ForwarderHarness.env(collector(), logs, state);
    env.putAll(extra);
    sidecar = Sidecar.start(new LogForwarderMain(), env);
  }

  @AfterEach
  void stopForwarder() {
    if (sidecar != null) {
      sidecar.close();
    }
  }
}
