package dev.sidecars.conformance;

import static dev.sidecars.conformance.Line.lines;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.collector.store.Received;
import dev.sidecars.collector.store.TraceId;
import dev.sidecars.conformance.Forwarded.Traceparent;
import dev.sidecars.conformance.Hops.Under;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * W3C Trace Context Level 2, written from the specification's text: every MUST and SHOULD of the
 * {@code traceparent} and {@code tracestate} header format and of the processing model that applies to a
 * proxy hop, one case each, run through both proxies over HTTP (recording spans, and with no span
 * processor). The rule each case checks is its name. A hop participates in the trace: it continues a
 * valid context with its own parent-id, or restarts the trace.
 *
 * <p>Besides each case's own assertions, every request must pass (200): no header makes a proxy fail a
 * request.
 */
class TraceContextConformanceTest {
  @RegisterExtension @Order(1) static final CollectorStubExtension collector = new CollectorStubExtension();
  @RegisterExtension @Order(2) static final Hops hops = new Hops("tracecontext,baggage", collector);

  static final String T = "0af7651916cd43dd8448eb211c80319c";
  static final String P = "b7ad6b7169203331";
  static final String VALID = "00-" + T + "-" + P + "-01";

  /** What a case expects of the outgoing {@code traceparent}. */
  enum Outcome {
    /** Same trace-id, a new parent-id, the caller's sampled and random flags. */
    CONTINUES,
    /** A new trace-id (random, flagged so), a new parent-id, no {@code tracestate}. */
    RESTARTS
  }

  record TraceparentCase(String rule, List<Line> in, Outcome outcome) {
    @Override
    public String toString() {
      return rule;
    }
  }

  private static TraceparentCase tp(String rule, Outcome outcome, String... nameValue) {
    return new TraceparentCase(rule, lines(nameValue), outcome);
  }

  private static TraceparentCase tp(String rule, Outcome outcome, String traceparent) {
    return tp(rule, outcome, "traceparent", traceparent);
  }

  static List<TraceparentCase> traceparentCases() {
    Outcome go = Outcome.CONTINUES;
    Outcome restart = Outcome.RESTARTS;
    return List.of(
        tp("traceparent: a valid header, sampled, is continued", go, VALID),
        tp("traceparent: a valid header, not sampled, is continued", go, "00-" + T + "-" + P + "-00"),
        tp("header name: MUST be expected in any case (upper)", go, "TRACEPARENT", VALID),
        tp("header name: MUST be expected in any case (mixed)", go, "TraceParent", VALID),
        tp("header name: MUST be expected in any case (alternating)", go, "tRaCePaReNt", VALID),
        tp("header name: other spellings are other headers (trace-parent)", restart, "trace-parent", VALID),
        tp("header name: other spellings are other headers (trace.parent)", restart, "trace.parent", VALID),
        tp("field value: optional whitespace before the value is not part of it (space)", go, " " + VALID),
        tp("field value: optional whitespace before the value is not part of it (tab)", go, "\t" + VALID),
        tp("field value: optional whitespace after the value is not part of it (space)", go, VALID + " "),
        tp("field value: optional whitespace after the value is not part of it (tab)", go, VALID + "\t"),
        tp("field value: optional whitespace on both sides", go, "\t " + VALID + " \t"),
        tp("field value: an empty value is invalid, restart", restart, ""),
        tp("field value: the dash is the only delimiter (after version)", restart, "00_" + T + "-" + P + "-01"),
        tp("field value: the dash is the only delimiter (before flags)", restart, "00-" + T + "-" + P + "_01"),
        tp("field value: no delimiters at all", restart, "00" + T + P + "01"),
        tp("version: ff is invalid, restart", restart, "ff-" + T + "-" + P + "-01"),
        tp("version: 2 lower-case hex digits (upper case), restart", restart, "0A-" + T + "-" + P + "-01"),
        tp("version: prefix not 2 hex digits and a dash (illegal first character), restart", restart, ".0-" + T + "-" + P + "-01"),
        tp("version: prefix not 2 hex digits and a dash (illegal second character), restart", restart, "0.-" + T + "-" + P + "-01"),
        tp("version: prefix not 2 hex digits and a dash (3 digits), restart", restart, "000-" + T + "-" + P + "-01"),
        tp("version: prefix not 2 hex digits and a dash (4 digits), restart", restart, "0000-" + T + "-" + P + "-01"),
        tp("version: prefix not 2 hex digits and a dash (1 digit), restart", restart, "0-" + T + "-" + P + "-01"),
        tp("version 00: trailing characters make it invalid, restart", restart, VALID + "."),
        tp("version 00: trailing fields make it invalid, restart", restart, VALID + "-what-the-future-will-be-like"),
        tp("higher version: SHOULD be parsed (exactly 55 characters)", go, "cc-" + T + "-" + P + "-01"),
        tp("higher version: unknown fields after a dash are ignored", go, "cc-" + T + "-" + P + "-01-what-the-future-will-be-like"),
        tp("higher version: flags MUST be at the end or followed by a dash, restart", restart, "cc-" + T + "-" + P + "-01.what-the-future-will-be-like"),
        tp("higher version: shorter than 55 characters is not parsed, restart", restart, "cc-" + T + "-" + P + "-1"),
        tp("higher version: trace-id MUST be hex, restart", restart, "cc-" + T.substring(1) + "x-" + P + "-01"),
        tp("trace-id: all zeros is invalid, MUST ignore traceparent", restart, "00-" + "0".repeat(32) + "-" + P + "-01"),
        tp("trace-id: lower-case hex only (upper case), MUST ignore traceparent", restart, "00-" + T.toUpperCase() + "-" + P + "-01"),
        tp("trace-id: illegal character first, MUST ignore traceparent", restart, "00-." + T.substring(1) + "-" + P + "-01"),
        tp("trace-id: illegal character last, MUST ignore traceparent", restart, "00-" + T.substring(1) + ".-" + P + "-01"),
        tp("trace-id: more than 32 hex digits, MUST ignore traceparent", restart, "00-" + T + "3-" + P + "-01"),
        tp("trace-id: fewer than 32 hex digits, MUST ignore traceparent", restart, "00-" + T.substring(1) + "-" + P + "-01"),
        tp("parent-id: all zeros is invalid, MUST ignore traceparent", restart, "00-" + T + "-" + "0".repeat(16) + "-01"),
        tp("parent-id: lower-case hex only (upper case), MUST ignore traceparent", restart, "00-" + T + "-" + P.toUpperCase() + "-01"),
        tp("parent-id: illegal character first, MUST ignore traceparent", restart, "00-" + T + "-." + P.substring(1) + "-01"),
        tp("parent-id: illegal character last, MUST ignore traceparent", restart, "00-" + T + "-" + P.substring(1) + ".-01"),
        tp("parent-id: more than 16 hex digits, MUST ignore traceparent", restart, "00-" + T + "-" + P + "7-01"),
        tp("parent-id: fewer than 16 hex digits, MUST ignore traceparent", restart, "00-" + T + "-" + P.substring(1) + "-01"),
        tp("trace-flags: illegal character first, restart", restart, "00-" + T + "-" + P + "-.0"),
        tp("trace-flags: illegal character last, restart", restart, "00-" + T + "-" + P + "-0."),
        tp("trace-flags: lower-case hex only (upper case), restart", restart, "00-" + T + "-" + P + "-0A"),
        tp("trace-flags: more than 2 hex digits, restart", restart, "00-" + T + "-" + P + "-001"),
        tp("trace-flags: fewer than 2 hex digits, restart", restart, "00-" + T + "-" + P + "-1"),
        tp("trace-flags: unknown flags are not an error; sampled is honoured (ff)", go, "00-" + T + "-" + P + "-ff"),
        tp("trace-flags: unknown flags are not an error; not sampled is honoured (fc)", go, "00-" + T + "-" + P + "-fc"),
        tp("random-trace-id flag: kept when the trace is continued (02)", go, "00-" + T + "-" + P + "-02"),
        tp("random-trace-id flag: kept when the trace is continued (03)", go, "00-" + T + "-" + P + "-03"),
        tp("random-trace-id flag: not claimed for a caller's id that did not claim it (01)", go, "00-" + T + "-" + P + "-01"),
        tp("several traceparent fields combine into an invalid value, restart (equal)", restart, "traceparent", VALID, "traceparent", VALID),
        tp("several traceparent fields combine into an invalid value, restart (different)", restart,
            "traceparent", "00-" + T + "-" + P + "-00", "traceparent", "00-" + "1".repeat(32) + "-" + P + "-01"),
        tp("no traceparent: a new trace is started", restart, "accept", "*/*"));
  }

  static Stream<Arguments> traceparents() {
    return hops.times(traceparentCases());
  }

  @ParameterizedTest(name = "{0} | {1}")
  @MethodSource("traceparents")
  void traceparent(Under hop, TraceparentCase c) {
    List<Line> in = new ArrayList<>(c.in());
    in.add(new Line("tracestate", "congo=t61rcWkgMzE"));
    Forwarded out = hop.send(in);

    Traceparent sent = out.traceparent();
    assertThat(out.names()).as("SHOULD send the header name in lower case").contains("traceparent");
    assertThat(sent.version()).as("sent in the highest version known, 00").isEqualTo("00");
    assertThat(sent.parentId()).as("parent-id updated to the hop's own").isNotEqualTo(P).isNotEqualTo("0".repeat(16));
    assertThat(sent.flags() & ~0x03).as("reserved flags MUST be zero").isZero();
    if (c.outcome() == Outcome.CONTINUES) {
      String value = c.in().get(0).value().strip();
      int flagsIn = Integer.parseInt(value.substring(53, 55), 16);
      assertThat(sent.traceId()).as("trace-id kept").isEqualTo(T);
      assertThat(sent.sampled()).as("sampled honoured").isEqualTo((flagsIn & 1) == 1);
      assertThat(sent.random()).as("random-trace-id flag as received").isEqualTo((flagsIn & 2) == 2);
      assertThat(out.all("tracestate")).as("tracestate goes on with the trace").containsExactly("congo=t61rcWkgMzE");
    } else {
      assertThat(sent.traceId()).as("a new trace-id").isNotEqualTo(T).isNotEqualTo("0".repeat(32))
          .isNotEqualTo("1".repeat(32));
      assertThat(sent.random()).as("Level 2: a trace-id the hop generates at random is flagged random").isTrue();
      assertThat(out.all("tracestate")).as("SHOULD clean up tracestate on restart").isEmpty();
    }
  }

  record TracestateCase(String rule, List<String> fields, String forwarded) {
    @Override
    public String toString() {
      return rule;
    }
  }

  private static TracestateCase ts(String rule, String forwarded, String... fields) {
    return new TracestateCase(rule, List.of(fields), forwarded);
  }

  static List<TracestateCase> tracestateCases() {
    String members32 = members(1, 32);
    String keyWithoutVendor = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    String keyWithVendor = keyWithoutVendor + "@a-z0-9_-*/";
    String allValueChars = IntStream.rangeClosed(0x20, 0x7e).filter(c -> c != ',' && c != '=')
        .mapToObj(c -> String.valueOf((char) c)).collect(Collectors.joining());
    String large = "big=" + "x".repeat(200);
    String nine = IntStream.range(0, 9).mapToObj(i -> "vendor" + i + "=" + "y".repeat(40)).collect(Collectors.joining(","));
    String exactly512 = IntStream.range(0, 8).mapToObj(i -> "k" + i + "=" + "v".repeat(60)).collect(Collectors.joining(","));
    String filler = exactly512.substring(0, 512 - 8);
    return List.of(
        ts("kept as received when valid, order preserved", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        ts("several fields MUST be combined, in order; SHOULD be sent as one field",
            "foo=1,bar=2,rojo=1,congo=2,baz=3", "foo=1,bar=2", "rojo=1,congo=2", "baz=3"),
        ts("an empty header MUST be accepted and SHOULD NOT be sent", null, ""),
        ts("an empty field after a valid one is accepted", "foo=1", "foo=1", ""),
        ts("an empty field before a valid one is accepted", "foo=1", "", "foo=1"),
        ts("empty and whitespace-only list members are allowed", "rojo=1,congo=2", "rojo=1,,  ,congo=2"),
        ts("spaces and tabs around list members are ignored", "foo=1,bar=2,baz=3", "foo=1 \t , \t bar=2, \t baz=3"),
        ts("spaces and tabs around list members are ignored (tabs and spaces)", "foo=1,bar=2,baz=3", "foo=1\t \t,\t \tbar=2,\t \tbaz=3"),
        ts("whitespace before the first member is ignored", "foo=1", "\tfoo=1"),
        ts("whitespace after the last member is ignored", "foo=1", "foo=1\t"),
        ts("every allowed key character, every allowed value character",
            keyWithoutVendor + "=" + allValueChars, keyWithoutVendor + "=" + allValueChars),
        ts("every allowed key character with @, every allowed value character",
            keyWithVendor + "=" + allValueChars, keyWithVendor + "=" + allValueChars),
        ts("32 list members are kept", members32, members32),
        ts("32 list members are kept across fields", members32, members(1, 10), members(11, 20), members(21, 30), members(31, 32)),
        ts("more than 32 list members: the right-most are removed", members32, members32 + ",bar33=33"),
        ts("duplicated key: one entry per key (identical duplicates)", "foo=1", "foo=1,foo=1"),
        ts("duplicated key: one entry per key, the left-most (latest) kept", "foo=1", "foo=1,foo=2"),
        ts("duplicated key across fields (identical)", "foo=1", "foo=1", "foo=1"),
        ts("duplicated key across fields (different)", "foo=1", "foo=1", "foo=2"),
        ts("duplicated key among others: the rest kept in order", "rojo=1,congo=2", "rojo=1,congo=2,rojo=3"),
        ts("key: @ at the end is a Level 2 key character", "foo@=1,bar=2", "foo@=1,bar=2"),
        ts("key: several @ are Level 2 key characters", "foo@@bar=1,bar=2", "foo@@bar=1,bar=2"),
        ts("key: @ twice apart", "foo@bar@baz=1,bar=2", "foo@bar@baz=1,bar=2"),
        ts("key: MUST begin with a lower-case letter or a digit (@ first): that member dropped", "bar=2", "@foo=1,bar=2"),
        ts("key: may begin with a digit", "1rojo=1", "1rojo=1"),
        ts("key: upper case is not allowed: that member dropped", "foo=1", "FOO=1,foo=1"),
        ts("key: a dot is not allowed: that member dropped", "rojo=2", "foo.bar=1,rojo=2"),
        ts("key: a space before = is not allowed: that member dropped", "rojo=2", "foo =1,rojo=2"),
        ts("key: up to 256 characters", "foo=1," + "z".repeat(256) + "=1", "foo=1", "z".repeat(256) + "=1"),
        ts("key: 257 characters is too long: that member dropped", "foo=1", "foo=1", "z".repeat(257) + "=1"),
        ts("key: 241 characters, @ and 14 is a key", "foo=1," + "t".repeat(241) + "@" + "v".repeat(14) + "=1",
            "foo=1", "t".repeat(241) + "@" + "v".repeat(14) + "=1"),
        ts("key: 242 characters before @ is a key (no tenant limit since Level 2)", "foo=1," + "t".repeat(242) + "@v=1",
            "foo=1", "t".repeat(242) + "@v=1"),
        ts("key: 15 characters after @ is a key (no vendor limit since Level 2)", "foo=1,t@" + "v".repeat(15) + "=1",
            "foo=1", "t@" + "v".repeat(15) + "=1"),
        ts("key: missing: that member dropped", "rojo=2", "=1,rojo=2"),
        ts("member without =: dropped", "rojo=2", "rojo,rojo=2"),
        ts("value: = is not allowed: that member dropped", "bar=2", "foo=bar=baz,bar=2"),
        ts("value: empty is not allowed: that member dropped", "bar=3", "foo=,bar=3"),
        ts("value: leading spaces MUST be preserved", "rojo= x", "rojo= x"),
        ts("value: inner spaces are part of it", "rojo=a b", "rojo=a b"),
        ts("value: a tab is not allowed: that member dropped", "congo=1", "rojo=a\tb,congo=1"),
        ts("value: up to 256 characters", "rojo=" + "v".repeat(256), "rojo=" + "v".repeat(256)),
        ts("value: 257 characters is too long: that member dropped", "congo=1", "rojo=" + "v".repeat(257) + ",congo=1"),
        ts("value: printable ASCII only: that member dropped", "congo=1", "rojo=\u00e9,congo=1"),
        ts("SHOULD propagate at least 512 characters", exactly512, exactly512),
        ts("truncation: whole entries, entries over 128 characters first", nine, large + "," + nine),
        ts("truncation: then entries from the end", filler, filler + ",last=" + "z".repeat(100)));
  }

  private static String members(int from, int to) {
    return IntStream.rangeClosed(from, to).mapToObj(i -> String.format("bar%02d=%02d", i, i)).collect(Collectors.joining(","));
  }

  static Stream<Arguments> tracestates() {
    return hops.times(tracestateCases());
  }

  @ParameterizedTest(name = "{0} | {1}")
  @MethodSource("tracestates")
  void tracestate(Under hop, TracestateCase c) {
    List<Line> in = new ArrayList<>(lines("traceparent", VALID));
    c.fields().forEach(field -> in.add(new Line("tracestate", field)));
    Forwarded out = hop.send(in);

    assertThat(out.traceparent().traceId()).as("tracestate MUST NOT affect traceparent").isEqualTo(T);
    if (c.forwarded() == null) {
      assertThat(out.all("tracestate")).isEmpty();
    } else {
      assertThat(out.all("tracestate")).as("one field").containsExactly(c.forwarded());
      assertThat(c.forwarded().length()).isLessThanOrEqualTo(512);
    }
  }

  static Stream<Arguments> hopsOnly() {
    return hops.each();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hopsOnly")
  void tracestateHeaderNameInAnyCaseAndSentInLowerCase(Under hop) {
    for (String name : List.of("TraceState", "TrAcEsTaTe", "TRACESTATE")) {
      Forwarded out = hop.send("traceparent", VALID, name, "foo=1");
      assertThat(out.all("tracestate")).containsExactly("foo=1");
      assertThat(out.names()).contains("tracestate").doesNotContain(name);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hopsOnly")
  void tracestateUnderAnotherNameIsNotTracestate(Under hop) {
    Forwarded out = hop.send("traceparent", VALID, "trace-state", "foo=1");
    assertThat(out.all("tracestate")).isEmpty();
    assertThat(out.all("trace-state")).as("an unrelated header passes untouched").containsExactly("foo=1");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hopsOnly")
  void tracestateWithoutTraceparentIsInvalidAndDiscarded(Under hop) {
    Forwarded one = hop.send("tracestate", "foo=1");
    Forwarded two = hop.send("tracestate", "foo=1,bar=2");
    assertThat(one.traceparent().random()).isTrue();
    assertThat(one.all("tracestate")).isEmpty();
    assertThat(two.all("tracestate")).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hopsOnly")
  void tracestateIsNotParsedWhenTraceparentFailed(Under hop) {
    Forwarded out = hop.send("traceparent", "00-" + T.toUpperCase() + "-" + P + "-01", "tracestate", "rojo=1,congo=2");
    assertThat(out.traceparent().traceId()).isNotEqualToIgnoringCase(T);
    assertThat(out.all("tracestate")).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hopsOnly")
  void everyRequestWithoutTraceparentStartsItsOwnTrace(Under hop) {
    Set<String> traces = new HashSet<>();
    Set<String> parents = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      Traceparent sent = hop.send("accept", "*/*").traceparent();
      traces.add(sent.traceId());
      parents.add(sent.parentId());
      assertThat(sent.random()).isTrue();
      assertThat(sent.sampled()).as("a new trace is recorded when spans are").isEqualTo(hop.recorded());
    }
    assertThat(traces).hasSize(3);
    assertThat(parents).hasSize(3);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hopsOnly")
  void everyRequestContinuingTheSameParentGetsItsOwnParentId(Under hop) {
    Set<String> parents = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      Traceparent sent = hop.send("traceparent", VALID).traceparent();
      assertThat(sent.traceId()).isEqualTo(T);
      parents.add(sent.parentId());
    }
    assertThat(parents).hasSize(3).doesNotContain(P);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hopsOnly")
  void everyRequestWithAnIllegalTraceparentGetsANewTrace(Under hop) {
    Set<String> traces = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      traces.add(hop.send("traceparent", "00-" + "0".repeat(32) + "-" + P + "-01").traceparent().traceId());
    }
    assertThat(traces).hasSize(3).doesNotContain("0".repeat(32));
  }

  /**
   * "Update parent-id: the value ... set to the new value representing the ID of the current operation":
   * the parent-id sent on is the id of the span the proxy recorded, whose parent is the caller's.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("recordingHops")
  void theParentIdSentOnIsTheRecordedSpanOfThisHop(Under hop) {
    String trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    Traceparent sent = hop.send("traceparent", "00-" + trace + "-" + P + "-01").traceparent();

    List<Received<io.opentelemetry.proto.trace.v1.Span>> spans = collector.awaitTrace(trace, 1);
    io.opentelemetry.proto.trace.v1.Span span = spans.get(0).item();
    assertThat(spans.get(0).service()).isEqualTo(hop.hop().kind().label);
    assertThat(TraceId.hex(span.getSpanId())).isEqualTo(sent.parentId());
    assertThat(TraceId.hex(span.getParentSpanId())).isEqualTo(P);
  }

  static Stream<Under> recordingHops() {
    return hops.all().stream().filter(Under::recorded);
  }
}
