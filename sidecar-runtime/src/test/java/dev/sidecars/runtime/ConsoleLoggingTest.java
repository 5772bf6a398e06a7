package dev.sidecars.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ConsoleLoggingTest {
  @AfterEach
  void reset() {
    ConsoleLogging.configure("info");
  }

  /** Netty's HTTP/2 codec logs at INFO for every DATA frame of a stream it reset: a flood under cancellations. */
  @Test
  void theDataPlanesLibrarySpeaksOnlyAtWarningUnlessDebugIsAsked() {
    ConsoleLogging.configure("info");
    Logger decoder = Logger.getLogger("io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder");
    assertThat(decoder.isLoggable(Level.INFO)).isFalse();
    assertThat(decoder.isLoggable(Level.WARNING)).isTrue();
    assertThat(Logger.getLogger("dev.sidecars.runtime.Sidecar").isLoggable(Level.INFO)).isTrue();

    ConsoleLogging.configure("debug");
    assertThat(decoder.isLoggable(Level.FINE)).isTrue();
  }
}
