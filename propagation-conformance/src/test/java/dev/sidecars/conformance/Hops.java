package dev.sidecars.conformance;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The proxies a conformance class runs its cases through: both proxies configured with the same
 * {@code OTEL_PROPAGATORS}, once recording spans to the collector (as in production) and once with no
 * span processor (where the hop makes its own context without the SDK's tracer).
 */
final class Hops implements AutoCloseable {
  private final ProxyPair recording;
  private final ProxyPair silent;

  private Hops(ProxyPair recording, ProxyPair silent) {
    this.recording = recording;
    this.silent = silent;
  }

  static Hops start(String propagators, CollectorStubExtension collector) {
    ProxyPair recording = ProxyPair.start(propagators, ProxyPair.recording(collector.otelEnvironment()));
    try {
      return new Hops(recording, ProxyPair.start(propagators, ProxyPair.NOT_RECORDING));
    } catch (RuntimeException e) {
      recording.close();
      throw e;
    }
  }

  /** All four, as arguments for a parameterized test. */
  List<Under> all() {
    List<Under> all = new ArrayList<>();
    recording.both().forEach(hop -> all.add(new Under(hop, true)));
    silent.both().forEach(hop -> all.add(new Under(hop, false)));
    return all;
  }

  /** Every hop with every case: {@code (Under, case)} arguments. */
  Stream<Arguments> times(List<?> cases) {
    return all().stream().flatMap(hop -> cases.stream().map(c -> Arguments.of(hop, c)));
  }

  @Override
  public void close() {
    recording.close();
    silent.close();
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
