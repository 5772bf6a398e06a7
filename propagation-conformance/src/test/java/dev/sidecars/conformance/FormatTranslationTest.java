package dev.sidecars.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.conformance.Forwarded.Traceparent;
import dev.sidecars.conformance.Hops.Under;
import java.util.stream.Stream;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One context in, every configured format out, through both proxies over HTTP: the same trace id and the
 * hop's new span id in every format (B3 specification, Jaeger client specification, W3C Trace Context).
 */
class FormatTranslationTest {
  @RegisterExtension @Order(1) static final CollectorStubExtension collector = new CollectorStubExtension();

  static final String T64 = "a3ce929d0e0e4736";
  static final String T128 = "463ac35c9f6413ad48485a3953bb6124";
  static final String PADDED = "0000000000000000" + T64;
  static final String SPAN = "00f067aa0ba902b7";
  static final String PARENT = "05e3ac9a4f6e3b90";

  /** {@code tracecontext,jaeger,baggage,b3}: the single B3 header out; a baggage header wins over Jaeger's. */
  @RegisterExtension @Order(2) static final Hops all = new Hops("tracecontext,jaeger,baggage,b3", collector);
  /** {@code tracecontext,b3multi}: the {@code X-B3-*} headers out. */
  @RegisterExtension @Order(2) static final Hops multi = new Hops("tracecontext,b3multi", collector);

  static Stream<Arguments> all() {
    return all.each();
  }

  static Stream<Arguments> multi() {
    return multi.each();
  }

  /** The one trace id and the hop's span id, the same in {@code traceparent}, {@code b3} and {@code uber-trace-id}. */
  private static Traceparent sameContextEverywhere(Forwarded out) {
    Traceparent w3c = out.traceparent();
    String flag = w3c.sampled() ? "1" : "0";
    assertThat(out.all("b3")).as("b3").containsExactly(w3c.traceId() + "-" + w3c.parentId() + "-" + flag);
    assertThat(out.all("uber-trace-id")).as("uber-trace-id").containsExactly(w3c.traceId() + ":" + w3c.parentId() + ":0:" + flag);
    return w3c;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void b3SingleWith64BitIdsGoesOutInEveryFormatPaddedWithANewSpanId(Under hop) {
    Traceparent out = sameContextEverywhere(hop.send("b3", T64 + "-" + SPAN + "-1-" + PARENT));
    assertThat(out.traceId()).isEqualTo(PADDED);
    assertThat(out.parentId()).isNotEqualTo(SPAN).isNotEqualTo(PARENT);
    assertThat(out.sampled()).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void w3cInGoesOutAsB3AndJaeger(Under hop) {
    Traceparent out = sameContextEverywhere(hop.send("traceparent", "00-" + T128 + "-" + SPAN + "-01"));
    assertThat(out.traceId()).isEqualTo(T128);
    assertThat(out.parentId()).isNotEqualTo(SPAN);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void jaegerWith64BitIdsGoesOutInEveryFormatWithItsBaggage(Under hop) {
    Forwarded out = hop.send("uber-trace-id", T64 + ":" + SPAN + ":" + PARENT + ":1", "uberctx-tenant", "acme");
    Traceparent w3c = sameContextEverywhere(out);
    assertThat(w3c.traceId()).isEqualTo(PADDED);
    assertThat(out.all("baggage")).containsExactly("tenant=acme");
    assertThat(out.all("uberctx-tenant")).containsExactly("acme");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void jaegerDebugFlagMeansSampled(Under hop) {
    for (String flags : new String[] {"2", "3", "02"}) {
      Traceparent out = sameContextEverywhere(hop.send("uber-trace-id", T128 + ":" + SPAN + ":0:" + flags));
      assertThat(out.traceId()).isEqualTo(T128);
      assertThat(out.sampled()).as("flags %s", flags).isTrue();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void jaegerUrlEncodedNotSampled(Under hop) {
    Traceparent out = sameContextEverywhere(hop.send("uber-trace-id", T128 + "%3A" + SPAN + "%3A0%3A0"));
    assertThat(out.traceId()).isEqualTo(T128);
    assertThat(out.sampled()).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void jaegerUrlEncodedDebug(Under hop) {
    Traceparent out = sameContextEverywhere(hop.send("uber-trace-id", T128 + "%3A" + SPAN + "%3A0%3A2"));
    assertThat(out.sampled()).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void uberctxHeadersOfItemsTheBaggageNoLongerHoldsAreRemoved(Under hop) {
    // Jaeger is read before baggage: the baggage header replaces what Jaeger found.
    Forwarded out = hop.send("uberctx-stale", "old", "uberctx-TENANT", "old", "jaeger-baggage", "legacy=1", "baggage", "tenant=acme");
    assertThat(out.all("baggage")).containsExactly("tenant=acme");
    assertThat(out.withPrefix("uberctx-")).extracting(Line::value).containsExactly("acme");
    assertThat(out.all("jaeger-baggage")).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void baggageKeysAHeaderCannotCarryAreLeftOutAndTheRequestPasses(Under hop) {
    Forwarded out = hop.send("jaeger-baggage", "good=1, a/b=2, c}d=3", "uberctx-ok", "v");
    assertThat(out.withPrefix("uberctx-")).extracting(Line::name).containsExactlyInAnyOrder("uberctx-good", "uberctx-ok");
    assertThat(out.all("baggage")).singleElement().satisfies(b -> assertThat(b.split(",")).containsExactlyInAnyOrder("good=1", "ok=v"));
  }

  /**
   * The previous hop wrote one context in every format; read in order, B3 (read last) must not replace
   * W3C's copy of the same ids, which alone carries {@code tracestate} and the random-trace-id flag.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void theSameContextInSeveralFormatsKeepsWhatOnlyW3cCarries(Under hop) {
    Forwarded out = hop.send("traceparent", "00-" + T128 + "-" + SPAN + "-03", "tracestate", "rojo=1",
        "uber-trace-id", T128 + ":" + SPAN + ":0:1", "b3", T128 + "-" + SPAN + "-1");
    Traceparent w3c = sameContextEverywhere(out);
    assertThat(w3c.traceId()).isEqualTo(T128);
    assertThat(w3c.random()).isTrue();
    assertThat(out.all("tracestate")).containsExactly("rojo=1");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void differentContextsInSeveralFormatsTheLastReadWins(Under hop) {
    Forwarded out = hop.send("traceparent", "00-" + T128 + "-" + SPAN + "-01", "tracestate", "rojo=1", "b3", T64 + "-" + SPAN + "-1");
    assertThat(sameContextEverywhere(out).traceId()).isEqualTo(PADDED);
    assertThat(out.all("tracestate")).as("the W3C context, and its tracestate, lost").isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void debugB3SingleIsSampledAndTravelsOn(Under hop) {
    Forwarded out = hop.send("b3", T128 + "-" + SPAN + "-d");
    Traceparent w3c = out.traceparent();
    assertThat(w3c.sampled()).isTrue();
    assertThat(out.all("b3")).containsExactly(T128 + "-" + w3c.parentId() + "-d");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void notSampledB3IsHonoured(Under hop) {
    Traceparent out = sameContextEverywhere(hop.send("b3", T128 + "-" + SPAN + "-0"));
    assertThat(out.sampled()).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void denyOnlyB3StartsATraceThatIsNotSampled(Under hop) {
    Traceparent out = sameContextEverywhere(hop.send("b3", "0"));
    assertThat(out.sampled()).isFalse();
    assertThat(out.random()).as("its ids are the hop's, random").isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void invalidB3RestartsAndIsNotForwarded(Under hop) {
    Traceparent out = sameContextEverywhere(hop.send("b3", "nonsense-" + SPAN + "-1"));
    assertThat(out.random()).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("multi")
  void b3MultiGoesOutAsW3cAndMultiWithoutTheParentSpanId(Under hop) {
    Forwarded out = hop.send("X-B3-TraceId", T128, "X-B3-SpanId", SPAN, "X-B3-ParentSpanId", PARENT, "X-B3-Sampled", "1");
    Traceparent w3c = out.traceparent();
    assertThat(w3c.traceId()).isEqualTo(T128);
    assertThat(out.all("X-B3-TraceId")).containsExactly(T128);
    assertThat(out.all("X-B3-SpanId")).containsExactly(w3c.parentId());
    assertThat(out.all("X-B3-Sampled")).containsExactly("1");
    assertThat(out.all("X-B3-ParentSpanId")).isEmpty();
    assertThat(out.lines()).noneMatch(l -> l.value().contains(PARENT) || l.value().contains(SPAN));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("multi")
  void b3Multi64BitIsPadded(Under hop) {
    Forwarded out = hop.send("x-b3-traceid", T64, "x-b3-spanid", SPAN, "x-b3-sampled", "1");
    assertThat(out.all("X-B3-TraceId")).containsExactly(PADDED);
    assertThat(out.traceparent().traceId()).isEqualTo(PADDED);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("multi")
  void singleB3WinsOverMulti(Under hop) {
    Forwarded out = hop.send("b3", T128 + "-" + SPAN + "-1", "X-B3-TraceId", "1".repeat(32), "X-B3-SpanId", SPAN, "X-B3-Sampled", "0");
    assertThat(out.traceparent().traceId()).isEqualTo(T128);
    assertThat(out.traceparent().sampled()).isTrue();
    assertThat(out.all("b3")).as("every B3 header is replaced, the single one too").isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("multi")
  void b3FlagsOneMeansSampledAndTravelsOnWithoutSampled(Under hop) {
    Forwarded out = hop.send("X-B3-TraceId", T128, "X-B3-SpanId", SPAN, "X-B3-Flags", "1");
    assertThat(out.traceparent().sampled()).isTrue();
    assertThat(out.all("X-B3-Flags")).containsExactly("1");
    assertThat(out.all("X-B3-Sampled")).as("debug implies sampled; not sent with Flags").isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("multi")
  void denyOnlyB3MultiStartsATraceThatIsNotSampled(Under hop) {
    Forwarded out = hop.send("X-B3-Sampled", "0");
    assertThat(out.traceparent().sampled()).isFalse();
    assertThat(out.all("X-B3-Sampled")).containsExactly("0");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("multi")
  void formatsNotConfiguredPassUntouched(Under hop) {
    Forwarded out = hop.send("uber-trace-id", T64 + ":" + SPAN + ":0:1", "uberctx-k", "v", "baggage", "a=1");
    assertThat(out.traceparent().traceId()).as("jaeger is not configured, so not read").isNotEqualTo(PADDED);
    assertThat(out.all("uber-trace-id")).containsExactly(T64 + ":" + SPAN + ":0:1");
    assertThat(out.all("uberctx-k")).containsExactly("v");
    assertThat(out.all("baggage")).containsExactly("a=1");
  }
}
