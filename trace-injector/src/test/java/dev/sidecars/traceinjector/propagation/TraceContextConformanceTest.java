package dev.sidecars.traceinjector.propagation;

import static dev.sidecars.traceinjector.propagation.Hops.headers;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * W3C Trace Context, one row per requirement of the specification's HTTP header format and processing
 * model (section named in each row). "continues" means the outgoing {@code traceparent} keeps the trace
 * id, carries a new parent id and version {@code 00}; "restarts" means a new trace id and no {@code
 * tracestate}.
 */
class TraceContextConformanceTest {
  static final String T = "0af7651916cd43dd8448eb211c80319c";
  static final String S = "b7ad6b7169203331";
  static final String VALID = "00-" + T + "-" + S + "-01";
  static final Pattern TRACEPARENT_00 = Pattern.compile("00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]");

  /** Only the flags this sidecar knows go out: sampled, and Level 2's random (set by the SDK's random ids). */
  static boolean sampledFlag(String traceparent) {
    int flags = Integer.parseInt(traceparent.substring(53), 16);
    assertThat(flags & ~0x03).as("reserved flags are zero").isZero();
    return (flags & 0x01) == 1;
  }

  static Stream<Arguments> traceparents() {
    return Stream.of(
        Arguments.of("3.2 valid, sampled", "traceparent", VALID, true, true),
        Arguments.of("3.2 valid, not sampled", "traceparent", "00-" + T + "-" + S + "-00", true, false),
        Arguments.of("3.2.1 header name upper case", "TRACEPARENT", VALID, true, true),
        Arguments.of("3.2.1 header name mixed case", "TraceParent", VALID, true, true),
        Arguments.of("3.2.2.3 trace-id upper-case hex", "traceparent", "00-" + T.toUpperCase() + "-" + S + "-01", false, true),
        Arguments.of("3.2.2.3 trace-id all zeros", "traceparent", "00-" + "0".repeat(32) + "-" + S + "-01", false, true),
        Arguments.of("3.2.2.3 trace-id not hex", "traceparent", "00-" + T.substring(1) + "g-" + S + "-01", false, true),
        Arguments.of("3.2.2.4 parent-id upper-case hex", "traceparent", "00-" + T + "-" + S.toUpperCase() + "-01", false, true),
        Arguments.of("3.2.2.4 parent-id all zeros", "traceparent", "00-" + T + "-" + "0".repeat(16) + "-01", false, true),
        Arguments.of("3.2.2.5 flags upper-case hex", "traceparent", "00-" + T + "-" + S + "-0A", false, true),
        Arguments.of("3.2.2.5 flags not hex", "traceparent", "00-" + T + "-" + S + "-0x", false, true),
        Arguments.of("3.2.2.5 unknown flags ignored, sampled honoured", "traceparent", "00-" + T + "-" + S + "-ff", true, true),
        Arguments.of("3.2.2.5 unknown flags, not sampled", "traceparent", "00-" + T + "-" + S + "-fe", true, false),
        Arguments.of("3.2.2.1 version ff forbidden", "traceparent", "ff-" + T + "-" + S + "-01", false, true),
        Arguments.of("3.2.2.1 version upper-case hex", "traceparent", "0A-" + T + "-" + S + "-01", false, true),
        Arguments.of("3.2.2.1 version not hex", "traceparent", "0g-" + T + "-" + S + "-01", false, true),
        Arguments.of("3.2.2 too short", "traceparent", VALID.substring(0, 54), false, true),
        Arguments.of("3.2.2 version 00 with trailing data", "traceparent", VALID + "-00", false, true),
        Arguments.of("3.2.2 bad separator", "traceparent", "00_" + T + "-" + S + "-01", false, true),
        Arguments.of("3.2.2 bad separator before flags", "traceparent", "00-" + T + "-" + S + "_01", false, true),
        Arguments.of("3.2.2 no separators", "traceparent", "00" + T + S + "01", false, true),
        Arguments.of("3.2.2 empty", "traceparent", "", false, true),
        Arguments.of("3.2.4 higher version parsed, sent as 00", "traceparent", "cc-" + T + "-" + S + "-01", true, true),
        Arguments.of("3.2.4 higher version with extra fields", "traceparent", "cc-" + T + "-" + S + "-01-what-the-future", true, true),
        Arguments.of("3.2.4 higher version, flags not followed by dash", "traceparent", "cc-" + T + "-" + S + "-01what", false, true),
        Arguments.of("3.2.4 higher version shorter than 55", "traceparent", "cc-" + T + "-" + S + "-1", false, true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("traceparents")
  void traceparent(String rule, String header, String value, boolean continues, boolean sampled) {
    Hops.Out out = Hops.w3c(headers(header, value, "tracestate", "congo=t61rcWkgMzE"));

    String sent = out.first("traceparent");
    assertThat(sent).matches(TRACEPARENT_00);
    assertThat(out.all("traceparent")).hasSize(1);
    assertThat(sent.substring(36, 52)).isEqualTo(out.spanId()).isNotEqualTo(S);
    if (continues) {
      assertThat(out.traceId()).isEqualTo(T);
      assertThat(out.sampled()).isEqualTo(sampled);
      assertThat(sampledFlag(sent)).isEqualTo(sampled);
      assertThat(out.first("tracestate")).isEqualTo("congo=t61rcWkgMzE");
    } else {
      assertThat(out.traceId()).isNotEqualTo(T);
      assertThat(out.first("tracestate")).as("tracestate is dropped on restart").isNull();
    }
  }

  static Stream<Arguments> tracestates() {
    String members32 = Stream.iterate(0, i -> i + 1).limit(32).map(i -> "k" + i + "=v" + i).reduce((a, b) -> a + "," + b).orElseThrow();
    String big = "big=" + "x".repeat(200);
    String filler = Stream.iterate(0, i -> i + 1).limit(9).map(i -> "vendor" + i + "=" + "y".repeat(40)).reduce((a, b) -> a + "," + b).orElseThrow();
    return Stream.of(
        Arguments.of("3.3.1 kept as received, order preserved", new String[] {"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        Arguments.of("3.3.1.1 several header fields combined in order", new String[] {"rojo=1", "congo=2"}, "rojo=1,congo=2"),
        Arguments.of("3.3.1.1 OWS around members ignored", new String[] {" rojo=1 ,\tcongo=2 "}, "rojo=1,congo=2"),
        Arguments.of("3.3.1.1 empty members allowed", new String[] {"rojo=1,,  ,congo=2", ""}, "rojo=1,congo=2"),
        Arguments.of("3.3.1.1 empty header accepted, not sent", new String[] {""}, null),
        Arguments.of("3.3.1.2 32 members kept", new String[] {members32}, members32),
        Arguments.of("3.3.1.2 33 members invalid", new String[] {members32 + ",k32=v"}, null),
        Arguments.of("3.3.1.3 duplicate key invalid", new String[] {"rojo=1,congo=2,rojo=3"}, null),
        Arguments.of("3.3.1.3 duplicate key across fields invalid", new String[] {"rojo=1", "rojo=3"}, null),
        Arguments.of("3.3.1.3.1 upper-case key invalid", new String[] {"rojo=1,Congo=2"}, null),
        Arguments.of("3.3.1.3.1 key starting with a digit", new String[] {"1rojo=1"}, "1rojo=1"),
        Arguments.of("3.3.1.3.1 key with @ and long system part", new String[] {"tenant@a-very-long-system-name=1"}, "tenant@a-very-long-system-name=1"),
        Arguments.of("3.3.1.3.1 key of 256 characters", new String[] {"k" + "a".repeat(255) + "=1"}, "k" + "a".repeat(255) + "=1"),
        Arguments.of("3.3.1.3.1 key of 257 characters invalid", new String[] {"k" + "a".repeat(256) + "=1"}, null),
        Arguments.of("3.3.1.3.1 key with bad character invalid", new String[] {"ro.jo=1"}, null),
        Arguments.of("3.3.1.3.1 missing key invalid", new String[] {"=1"}, null),
        Arguments.of("3.3.1.3.2 value with leading space kept", new String[] {"rojo= x"}, "rojo= x"),
        Arguments.of("3.3.1.3.2 value with inner space kept", new String[] {"rojo=a b"}, "rojo=a b"),
        Arguments.of("3.3.1.3.2 empty value invalid", new String[] {"rojo="}, null),
        Arguments.of("3.3.1.3.2 value with = invalid", new String[] {"rojo=a=b"}, null),
        Arguments.of("3.3.1.3.2 value with tab invalid", new String[] {"rojo=a\tb"}, null),
        Arguments.of("3.3.1.3.2 value of 256 characters", new String[] {"rojo=" + "v".repeat(256)}, "rojo=" + "v".repeat(256)),
        Arguments.of("3.3.1.3.2 value of 257 characters invalid", new String[] {"rojo=" + "v".repeat(257)}, null),
        Arguments.of("3.3.1.3.2 non-ASCII value invalid", new String[] {"rojo=é"}, null),
        Arguments.of("3.3.1.3.2 member without = invalid", new String[] {"rojo"}, null),
        Arguments.of("3.3.1.5 over 512: entries over 128 characters go first", new String[] {big + "," + filler}, filler),
        Arguments.of("3.3.1.5 over 512: then entries from the right", new String[] {filler + ",last=" + "z".repeat(100)}, filler));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tracestates")
  void tracestate(String rule, String[] fields, String expected) {
    io.undertow.util.HeaderMap in = headers("traceparent", VALID);
    for (String field : fields) {
      in.add(io.undertow.util.HttpString.tryFromString("TraceState"), field);
    }
    Hops.Out out = Hops.w3c(in);

    assertThat(out.traceId()).as("a bad tracestate never affects traceparent").isEqualTo(T);
    assertThat(out.first("tracestate")).isEqualTo(expected);
    assertThat(out.all("tracestate")).hasSizeLessThanOrEqualTo(1);
    if (expected != null) {
      assertThat(expected.length()).isLessThanOrEqualTo(TraceStateHeader.MAX_LENGTH);
    }
  }

  @org.junit.jupiter.api.Test
  void twoTraceparentHeadersRestartTheTrace() {
    Hops.Out out = Hops.w3c(headers("traceparent", VALID, "traceparent", "00-" + T + "-" + S + "-00", "tracestate", "a=1"));
    assertThat(out.traceId()).isNotEqualTo(T);
    assertThat(out.first("tracestate")).isNull();
  }

  @org.junit.jupiter.api.Test
  void tracestateWithoutTraceparentIsIgnored() {
    Hops.Out out = Hops.w3c(headers("tracestate", "rojo=1"));
    assertThat(out.first("traceparent")).matches(TRACEPARENT_00);
    assertThat(out.first("tracestate")).isNull();
  }

  @org.junit.jupiter.api.Test
  void noContextStartsANewSampledTrace() {
    Hops.Out out = Hops.w3c(headers("accept", "*/*"));
    assertThat(sampledFlag(out.first("traceparent"))).isTrue();
    assertThat(out.sampled()).isTrue();
  }

  @org.junit.jupiter.api.Test
  void withoutAnExporterTheHopStillGetsItsOwnContext() {
    Hops.Out continued = Hops.hop(java.util.List.of("tracecontext"), headers("traceparent", VALID, "tracestate", "rojo=1"), false);
    assertThat(continued.traceId()).isEqualTo(T);
    assertThat(continued.spanId()).isNotEqualTo(S);
    assertThat(continued.first("tracestate")).isEqualTo("rojo=1");
    assertThat(sampledFlag(continued.first("traceparent"))).isTrue();

    Hops.Out fresh = Hops.hop(java.util.List.of("tracecontext"), headers("accept", "*/*"), false);
    assertThat(fresh.first("traceparent")).matches(TRACEPARENT_00);
  }

  @org.junit.jupiter.api.Test
  void headerNamesAreSentInLowerCase() {
    Hops.Out out = Hops.w3c(headers("TRACEPARENT", VALID, "TRACESTATE", "rojo=1"));
    java.util.List<String> names = new java.util.ArrayList<>();
    out.headers().getHeaderNames().forEach(n -> names.add(n.toString()));
    assertThat(names).contains("traceparent", "tracestate").doesNotContain("TRACEPARENT", "TRACESTATE");
  }
}
