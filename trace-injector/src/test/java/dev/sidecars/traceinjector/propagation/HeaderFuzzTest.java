package dev.sidecars.traceinjector.propagation;

import static org.assertj.core.api.Assertions.assertThat;

import io.undertow.util.HeaderMap;
import io.undertow.util.HttpString;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random header bytes, seeded so a failure replays: extraction never throws and what goes out is always
 * one valid {@code traceparent}. Half the inputs are mutations of valid headers, so the parser's edges
 * get hit, not only obvious garbage.
 */
class HeaderFuzzTest {
  private static final long SEED = 20261125L;
  private static final int ITERATIONS = 5_000;
  private static final List<String> NAMES =
      List.of("traceparent", "tracestate", "baggage", "b3", "X-B3-TraceId", "X-B3-SpanId", "X-B3-Sampled",
          "X-B3-Flags", "uber-trace-id", "uberctx-k", "ot-tracer-traceid", "ot-tracer-spanid");
  private static final List<String> SEEDS =
      List.of("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
          "k=v;p=1,k2=v%202", "a3ce929d0e0e4736-00f067aa0ba902b7-d-05e3ac9a4f6e3b90",
          "463ac35c9f6413ad48485a3953bb6124", "a3ce929d0e0e4736:00f067aa0ba902b7:0:1");

  @Test
  void randomHeadersNeverThrowAndNeverForwardAnInvalidTraceparent() {
    Random random = new Random(SEED);
    List<String> formats = List.of("tracecontext", "baggage", "b3", "b3multi", "jaeger", "ottrace");
    for (int i = 0; i < ITERATIONS; i++) {
      HeaderMap headers = new HeaderMap();
      int count = 1 + random.nextInt(4);
      for (int h = 0; h < count; h++) {
        headers.add(HttpString.tryFromString(NAMES.get(random.nextInt(NAMES.size()))), value(random));
      }
      String input = headers.toString();
      Hops.Out out = Hops.hop(formats, headers);
      assertThat(out.all("traceparent")).as("input %s", input).hasSize(1);
      assertThat(out.first("traceparent")).as("input %s", input).matches(TraceContextConformanceTest.TRACEPARENT_00);
      assertThat(out.traceId()).isNotEqualTo("0".repeat(32));
      String state = out.first("tracestate");
      if (state != null) {
        assertThat(TraceStateHeader.parse(List.of(state))).as("input %s", input).hasValue(
            TraceStateHeader.parse(List.of(state)).orElseThrow());
        assertThat(state.length()).isLessThanOrEqualTo(TraceStateHeader.MAX_LENGTH);
      }
    }
  }

  private static String value(Random random) {
    if (random.nextBoolean()) {
      char[] chars = SEEDS.get(random.nextInt(SEEDS.size())).toCharArray();
      int edits = 1 + random.nextInt(3);
      for (int e = 0; e < edits; e++) {
        chars[random.nextInt(chars.length)] = (char) (0x20 + random.nextInt(0x5f));
      }
      return new String(chars);
    }
    byte[] bytes = new byte[random.nextInt(80)];
    random.nextBytes(bytes);
    return new String(bytes, StandardCharsets.ISO_8859_1);
  }
}
