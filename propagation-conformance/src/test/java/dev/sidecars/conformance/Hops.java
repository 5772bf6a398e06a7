package dev.sidecars.conformance;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The proxies a conformance class runs its cases through, as a JUnit extension started before the class's
 * tests and stopped after them: both proxies configured with the same {@code OTEL_PROPAGATORS}, once
 * recording spans to the collector (as in production) and once with no span processor (where the hop
 * makes its own context without the SDK's tracer). Register it after the collector's extension (with
 * {@code @Order}: JUnit does not keep the order of declaration).
 */
final class Hops implements BeforeAllCallback, AfterAllCallback {
  private final String propagators;
  private final CollectorStubExtension collector;
  private ProxyPair recording;
  private ProxyPair silent;

  Hops(String propagators, CollectorStubExtension collector) {
    this.propagators = propagators;
    this.collector = collector;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    recording = ProxyPair.start(propagators, ProxyPair.recording(collector.otelEnvironment()));
    silent = ProxyPair.start(propagators, ProxyPair.NOT_RECORDING);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (recording != null) {
      recording.close();
    }
    if (silent != null) {
      silent.close();
    }
  }

  /** All four proxies. */
  List<Under> all() {
    List<Under> all = new ArrayList<>();
    recording.both().forEach(hop -> all.add(new Under(hop, true)));
    silent.both().forEach(hop -> all.add(new Under(hop, false)));
    return all;
  }

  /** All four, one argument each, for a parameterized test. */
  Stream<Arguments> each() {
    return all().stream().map(Arguments::of);
  }

  /** Every proxy with every case: {@code (Under, case)} arguments. */
  Stream<Arguments> times(List<?> cases) {
    return all().stream().flatMap(hop -> cases.stream().map(c -> Arguments.of(hop, c)));
  }

  /**
   * A proxy under test, and whether its spans are recorded. (Not {@link AutoCloseable}, unlike {@link
   * Hop}: JUnit closes such arguments after each parameterized case.)
   */
  record Under(Hop hop, boolean recorded) {
    Forwarded send(List<Line> lines) {
      return hop.send(lines);
    }

    Forwarded send(String... nameValue) {
      return hop.send(nameValue);
    }

    @Override
    public String toString() {
      return hop + (recorded ? "" : " (no span processor)");
    }
  }
}
