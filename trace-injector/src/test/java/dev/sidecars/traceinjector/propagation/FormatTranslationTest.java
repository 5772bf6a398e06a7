package dev.sidecars.traceinjector.propagation;

import static dev.sidecars.traceinjector.propagation.Hops.headers;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** B3 and Jaeger in, every configured format out with the same trace id (B3 spec, Jaeger client spec). */
class FormatTranslationTest {
  static final List<String> ALL = List.of("tracecontext", "baggage", "b3", "jaeger");
  static final List<String> MULTI = List.of("tracecontext", "b3multi");
  static final String T64 = "a3ce929d0e0e4736";
  static final String T128 = "463ac35c9f6413ad48485a3953bb6124";
  static final String PADDED = "0000000000000000" + T64;
  static final String SPAN = "00f067aa0ba902b7";
  static final String PARENT = "05e3ac9a4f6e3b90";

  @Test
  void b3SingleIn64BitGivesW3cB3AndJaegerOutWithTheSamePaddedTraceId() {
    Hops.Out out = Hops.hop(ALL, headers("b3", T64 + "-" + SPAN + "-1-" + PARENT));
    assertThat(out.traceId()).isEqualTo(PADDED);
    assertThat(out.first("traceparent")).startsWith("00-" + PADDED + "-" + out.spanId() + "-");
    assertThat(out.first("b3")).isEqualTo(PADDED + "-" + out.spanId() + "-1");
    assertThat(out.first("uber-trace-id")).isEqualTo(PADDED + ":" + out.spanId() + ":0:1");
    assertThat(out.spanId()).isNotEqualTo(SPAN);
  }

  @Test
  void parentSpanIdIsNeverPropagated() {
    Hops.Out out = Hops.hop(MULTI, headers("X-B3-TraceId", T128, "X-B3-SpanId", SPAN, "X-B3-ParentSpanId", PARENT, "X-B3-Sampled", "1"));
    assertThat(out.first("X-B3-ParentSpanId")).isNull();
    assertThat(out.first("X-B3-TraceId")).isEqualTo(T128);
    assertThat(out.first("X-B3-SpanId")).isEqualTo(out.spanId());
    assertThat(out.first("X-B3-Sampled")).isEqualTo("1");
    assertThat(out.first("traceparent")).contains(T128);
    assertThat(out.headers().toString()).doesNotContain(PARENT);
  }

  @Test
  void singleHeaderWinsOverMulti() {
    Hops.Out out = Hops.hop(MULTI, headers("b3", T128 + "-" + SPAN + "-1", "X-B3-TraceId", "1".repeat(32), "X-B3-SpanId", SPAN, "X-B3-Sampled", "0"));
    assertThat(out.traceId()).isEqualTo(T128);
    assertThat(out.sampled()).isTrue();
  }

  @Test
  void multiIn64BitIsPaddedTo128() {
    Hops.Out out = Hops.hop(MULTI, headers("x-b3-traceid", T64, "x-b3-spanid", SPAN, "x-b3-sampled", "1"));
    assertThat(out.first("X-B3-TraceId")).isEqualTo(PADDED);
    assertThat(out.first("traceparent")).contains(PADDED);
  }

  @Test
  void debugFlagIsHonouredAndCarriedOn() {
    Hops.Out single = Hops.hop(ALL, headers("b3", T128 + "-" + SPAN + "-d"));
    assertThat(single.sampled()).isTrue();
    assertThat(single.first("b3")).isEqualTo(T128 + "-" + single.spanId() + "-d");

    Hops.Out multi = Hops.hop(MULTI, headers("X-B3-TraceId", T128, "X-B3-SpanId", SPAN, "X-B3-Flags", "1"));
    assertThat(multi.sampled()).isTrue();
    assertThat(multi.first("X-B3-Flags")).isEqualTo("1");
    assertThat(multi.first("X-B3-Sampled")).as("debug implies sampled; not sent with Flags").isNull();
  }

  @Test
  void notSampledB3IsHonoured() {
    Hops.Out out = Hops.hop(ALL, headers("b3", T128 + "-" + SPAN + "-0"));
    assertThat(out.sampled()).isFalse();
    assertThat(out.span().isRecording()).isFalse();
    assertThat(out.first("b3")).endsWith("-0");
    assertThat(TraceContextConformanceTest.sampledFlag(out.first("traceparent"))).isFalse();
  }

  @Test
  void denyOnlyB3StartsATraceThatIsNotSampled() {
    Hops.Out out = Hops.hop(ALL, headers("b3", "0"));
    assertThat(out.sampled()).isFalse();
    assertThat(out.first("traceparent")).matches(TraceContextConformanceTest.TRACEPARENT_00);
    assertThat(out.first("b3")).isEqualTo(out.traceId() + "-" + out.spanId() + "-0");

    Hops.Out multi = Hops.hop(MULTI, headers("X-B3-Sampled", "0"));
    assertThat(multi.sampled()).isFalse();
  }

  @Test
  void jaegerIn64BitGivesW3cAndB3OutWithTheSamePaddedTraceId() {
    Hops.Out out = Hops.hop(ALL, headers("uber-trace-id", T64 + ":" + SPAN + ":" + PARENT + ":1", "uberctx-tenant", "acme"));
    assertThat(out.traceId()).isEqualTo(PADDED);
    assertThat(out.first("traceparent")).contains(PADDED);
    assertThat(out.first("b3")).startsWith(PADDED + "-");
    assertThat(out.first("uber-trace-id")).isEqualTo(PADDED + ":" + out.spanId() + ":0:1");
    assertThat(out.first("baggage")).isEqualTo("tenant=acme");
    assertThat(out.first("uberctx-tenant")).isEqualTo("acme");
  }

  @Test
  void uberctxHeadersOfItemsTheBaggageNoLongerHoldsAreNotSentOn() {
    // Jaeger is read first; the baggage header, read later, replaces what it found.
    Hops.Out out = Hops.hop(List.of("tracecontext", "jaeger", "baggage"),
        headers("uberctx-stale", "old", "uberctx-TENANT", "old", "baggage", "tenant=acme"));
    assertThat(out.first("baggage")).isEqualTo("tenant=acme");
    assertThat(out.all("uberctx-tenant")).containsExactly("acme");
    assertThat(out.first("uberctx-stale")).isNull();
  }

  @Test
  void jaegerBaggageHeaderGoesOutAsUberctxHeadersOnly() {
    Hops.Out out = Hops.hop(List.of("tracecontext", "jaeger"), headers("jaeger-baggage", "k1=v1, k2=v2"));
    assertThat(out.first("uberctx-k1")).isEqualTo("v1");
    assertThat(out.first("uberctx-k2")).isEqualTo("v2");
    assertThat(out.first("jaeger-baggage")).isNull();
  }

  @Test
  void jaegerUrlEncodedAndNotSampled() {
    Hops.Out out = Hops.hop(ALL, headers("uber-trace-id", T128 + "%3A" + SPAN + "%3A0%3A0"));
    assertThat(out.traceId()).isEqualTo(T128);
    assertThat(out.sampled()).isFalse();
  }

  @Test
  void w3cInGivesB3AndJaegerOut() {
    Hops.Out out = Hops.hop(ALL, headers("traceparent", "00-" + T128 + "-" + SPAN + "-01"));
    assertThat(out.first("b3")).isEqualTo(T128 + "-" + out.spanId() + "-1");
    assertThat(out.first("uber-trace-id")).startsWith(T128 + ":" + out.spanId());
  }

  @Test
  void invalidB3RestartsAndIsNotForwarded() {
    Hops.Out out = Hops.hop(ALL, headers("b3", "nonsense-" + SPAN + "-1"));
    assertThat(out.first("b3")).isEqualTo(out.traceId() + "-" + out.spanId() + "-1");
    assertThat(out.all("b3")).hasSize(1);
  }

  @Test
  void unconfiguredFormatsPassThroughUntouched() {
    Hops.Out out = Hops.w3c(headers("b3", T128 + "-" + SPAN + "-1", "uber-trace-id", T64 + ":" + SPAN + ":0:1"));
    assertThat(out.traceId()).as("b3 is not configured, so it is not read").isNotEqualTo(T128);
    assertThat(out.first("b3")).isEqualTo(T128 + "-" + SPAN + "-1");
    assertThat(out.first("uber-trace-id")).isEqualTo(T64 + ":" + SPAN + ":0:1");
  }
}
