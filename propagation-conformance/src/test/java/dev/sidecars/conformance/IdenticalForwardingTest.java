package dev.sidecars.conformance;

import static dev.sidecars.conformance.Line.lines;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One trace-context implementation: for the same input, metrics-proxy and trace-injector configured
 * alike forward the same header lines, byte for byte, once each hop's own span id (and a trace id it
 * generated) is set aside ({@link Normalized}).
 */
class IdenticalForwardingTest {
  @RegisterExtension static final CollectorStubExtension collector = new CollectorStubExtension();

  static final String W3C = "tracecontext,baggage";
  static final String ALL = "tracecontext,jaeger,baggage,b3";
  static final String MULTI = "tracecontext,b3multi";
  static final String B3 = "b3";

  static final String T = "0af7651916cd43dd8448eb211c80319c";
  static final String P = "b7ad6b7169203331";
  static final String VALID = "00-" + T + "-" + P + "-01";
  static final String T64 = "a3ce929d0e0e4736";
  static final String S = "00f067aa0ba902b7";

  private static final Map<String, ProxyPair> PAIRS = new HashMap<>();

  @AfterAll
  static void stop() {
    PAIRS.values().forEach(ProxyPair::close);
    PAIRS.clear();
  }

  private static ProxyPair pair(String propagators, boolean recording) {
    return PAIRS.computeIfAbsent(propagators + "/" + recording, key -> ProxyPair.start(propagators,
        recording ? ProxyPair.recording(collector.otelEnvironment()) : ProxyPair.NOT_RECORDING));
  }

  record Input(String propagators, String what, List<Line> lines) {
    @Override
    public String toString() {
      return "[" + propagators + "] " + what;
    }
  }

  private static Input in(String propagators, String what, String... nameValue) {
    return new Input(propagators, what, lines(nameValue));
  }

  static List<Input> inputs() {
    String members33 = IntStream.rangeClosed(1, 33).mapToObj(i -> "k" + i + "=" + i).collect(Collectors.joining(","));
    String long600 = IntStream.range(0, 12).mapToObj(i -> "vendor" + i + "=" + "x".repeat(45)).collect(Collectors.joining(","));
    String baggage100 = IntStream.range(0, 100).mapToObj(i -> "k" + i + "=v" + i).collect(Collectors.joining(","));
    String baggageBig = IntStream.range(0, 60).mapToObj(i -> "k" + i + "=" + "v".repeat(200)).collect(Collectors.joining(","));
    return List.of(
        in(W3C, "no context", "accept", "*/*"),
        in(W3C, "valid, sampled", "traceparent", VALID),
        in(W3C, "valid, not sampled", "traceparent", "00-" + T + "-" + P + "-00"),
        in(W3C, "random flag", "traceparent", "00-" + T + "-" + P + "-03"),
        in(W3C, "unknown flags", "traceparent", "00-" + T + "-" + P + "-ff"),
        in(W3C, "future version, extra fields", "traceparent", "cc-" + T + "-" + P + "-01-future"),
        in(W3C, "version ff", "traceparent", "ff-" + T + "-" + P + "-01", "tracestate", "a=1"),
        in(W3C, "upper-case trace id", "traceparent", "00-" + T.toUpperCase() + "-" + P + "-01", "tracestate", "a=1"),
        in(W3C, "two traceparent lines", "traceparent", VALID, "traceparent", VALID, "tracestate", "a=1"),
        in(W3C, "upper-case header names", "TRACEPARENT", VALID, "TRACESTATE", "a=1", "BAGGAGE", "b=2"),
        in(W3C, "whitespace around traceparent", "traceparent", "\t" + VALID + " "),
        in(W3C, "tracestate as received", "traceparent", VALID, "tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        in(W3C, "tracestate in three lines", "traceparent", VALID, "tracestate", "a=1", "tracestate", "b=2,c=3", "tracestate", "d=4"),
        in(W3C, "tracestate duplicated keys", "traceparent", VALID, "tracestate", "foo=1,foo=2,bar=3"),
        in(W3C, "tracestate keys with @", "traceparent", VALID, "tracestate", "foo@=1,bar@@baz=2,t@" + "v".repeat(15) + "=3"),
        in(W3C, "tracestate key of 257 characters", "traceparent", VALID, "tracestate", "foo=1," + "z".repeat(257) + "=2"),
        in(W3C, "tracestate 33 members", "traceparent", VALID, "tracestate", members33),
        in(W3C, "tracestate over 512 characters", "traceparent", VALID, "tracestate", long600),
        in(W3C, "tracestate empty", "traceparent", VALID, "tracestate", ""),
        in(W3C, "tracestate with whitespace and empty members", "traceparent", VALID, "tracestate", " a=1 ,, \t,b=2\t"),
        in(W3C, "tracestate value with leading space", "traceparent", VALID, "tracestate", "a= 1"),
        in(W3C, "tracestate bad members among good", "traceparent", VALID, "tracestate", "A=1,b=,c=3,d=x=y,e=5"),
        in(W3C, "tracestate without traceparent", "tracestate", "a=1"),
        in(W3C, "baggage", "baggage", "userId=alice,serverNode=DF%2028"),
        in(W3C, "baggage in two lines", "baggage", "a=1", "baggage", "b=2"),
        in(W3C, "baggage with properties and whitespace", "baggage", " k = v ;p=1; flag , k2=v2"),
        in(W3C, "baggage over 64 members", "baggage", baggage100),
        in(W3C, "baggage over 8192 bytes", "baggage", baggageBig),
        in(W3C, "baggage with a bad member", "baggage", "good=1,bad key=2,fine=3"),
        in(W3C, "invalid traceparent with baggage", "traceparent", "00-" + "0".repeat(32) + "-" + P + "-01", "baggage", "k=v"),
        in(W3C, "B3 and Jaeger not configured pass untouched", "b3", T + "-" + S + "-1", "uber-trace-id", T64 + ":" + S + ":0:1", "uberctx-k", "v"),
        in(W3C, "unrelated repeated headers untouched", "x-custom", "1", "x-custom", "2", "traceparent", VALID),
        in(ALL, "B3 single, 64-bit", "b3", T64 + "-" + S + "-1-" + P),
        in(ALL, "B3 single, 128-bit, not sampled", "b3", T + "-" + S + "-0"),
        in(ALL, "B3 single, debug", "b3", T + "-" + S + "-d"),
        in(ALL, "B3 deny only", "b3", "0"),
        in(ALL, "B3 invalid", "b3", "nonsense-" + S + "-1"),
        in(ALL, "B3 multi", "X-B3-TraceId", T, "X-B3-SpanId", S, "X-B3-ParentSpanId", P, "X-B3-Sampled", "1"),
        in(ALL, "Jaeger, 64-bit, with baggage", "uber-trace-id", T64 + ":" + S + ":" + P + ":1", "uberctx-tenant", "acme"),
        in(ALL, "Jaeger debug", "uber-trace-id", T + ":" + S + ":0:2"),
        in(ALL, "Jaeger URL-encoded", "uber-trace-id", T + "%3A" + S + "%3A0%3A1"),
        in(ALL, "jaeger-baggage header", "jaeger-baggage", "k1=v1, k2=v2"),
        in(ALL, "stale uberctx replaced by baggage", "uberctx-stale", "old", "uberctx-Tenant", "old", "baggage", "tenant=acme"),
        in(ALL, "same context in W3C and B3, with tracestate", "traceparent", "00-" + T + "-" + S + "-03", "tracestate", "a=1",
            "b3", T + "-" + S + "-1"),
        in(ALL, "different contexts in W3C and B3", "traceparent", VALID, "b3", T64 + "-" + S + "-0"),
        in(ALL, "no context", "accept", "*/*"),
        in(ALL, "W3C in", "traceparent", VALID, "baggage", "a=1"),
        in(MULTI, "B3 multi, 64-bit", "x-b3-traceid", T64, "x-b3-spanid", S, "x-b3-sampled", "1"),
        in(MULTI, "B3 multi, debug", "X-B3-TraceId", T, "X-B3-SpanId", S, "X-B3-Flags", "1"),
        in(MULTI, "B3 multi, deny only", "X-B3-Sampled", "0"),
        in(MULTI, "B3 single and multi", "b3", T + "-" + S + "-1", "X-B3-TraceId", "1".repeat(32), "X-B3-SpanId", S),
        in(MULTI, "W3C in, B3 multi out", "traceparent", VALID, "tracestate", "a=1"),
        in(MULTI, "two X-B3-TraceId lines", "X-B3-TraceId", T, "X-B3-TraceId", T, "X-B3-SpanId", S),
        in(B3, "W3C not configured: repeated lines joined", "tracestate", "a=1", "tracestate", "b=2", "baggage", "x=1", "baggage", "y=2"),
        in(B3, "W3C not configured: traceparent untouched", "traceparent", VALID),
        in(B3, "B3 single", "b3", T + "-" + S + "-1"));
  }

  static Stream<Arguments> cases() {
    return inputs().stream().flatMap(input -> Stream.of(Arguments.of(input, true), Arguments.of(input, false)));
  }

  @ParameterizedTest(name = "{0}, spans recorded: {1}")
  @MethodSource("cases")
  void bothProxiesForwardTheSameHeaders(Input input, boolean recording) {
    ProxyPair pair = pair(input.propagators(), recording);
    List<String> viaMetricsProxy = Normalized.lines(input.propagators(), input.lines(), pair.metricsProxy().send(input.lines()));
    List<String> viaTraceInjector = Normalized.lines(input.propagators(), input.lines(), pair.traceInjector().send(input.lines()));

    assertThat(viaTraceInjector).as("trace-injector against metrics-proxy").isEqualTo(viaMetricsProxy);
    assertThat(viaMetricsProxy).as("a context goes on in some format").isNotEmpty();
  }

  @org.junit.jupiter.api.Test
  void theTableHasAtLeastFiftyInputs() {
    assertThat(inputs()).hasSizeGreaterThanOrEqualTo(50);
  }
}
