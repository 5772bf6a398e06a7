package dev.sidecars.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.junit5.CollectorStubExtension;
import dev.sidecars.conformance.Hops.Under;
import java.nio.charset.StandardCharsets;
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
 * W3C Baggage, written from the specification's text, one case per requirement on a hop that passes
 * baggage on, through both proxies over HTTP. The order of list-members carries no meaning in the spec
 * and is not kept (OpenTelemetry's {@code Baggage} is keyed), so members are compared as sets.
 */
class BaggageConformanceTest {
  @RegisterExtension @Order(1) static final CollectorStubExtension collector = new CollectorStubExtension();
  @RegisterExtension @Order(2) static final Hops hops = new Hops("tracecontext,baggage", collector);

  static Stream<Arguments> hops() {
    return hops.each();
  }

  private static Set<String> members(Forwarded out) {
    List<String> all = out.all("baggage");
    assertThat(all).as("baggage goes on as one field").hasSizeLessThanOrEqualTo(1);
    return all.isEmpty() ? Set.of() : Set.of(all.get(0).split(","));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void listMembersWithPropertiesPassOn(Under hop) {
    assertThat(members(hop.send("baggage", "userId=alice,serverNode=DF%2028;prop=1;flag,isProduction=false")))
        .containsExactlyInAnyOrder("userId=alice", "serverNode=DF%2028;prop=1;flag", "isProduction=false");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void headerNameInAnyCase(Under hop) {
    for (String name : List.of("BAGGAGE", "Baggage", "bAgGaGe")) {
      Forwarded out = hop.send(name, "k=v");
      assertThat(out.all("baggage")).containsExactly("k=v");
      assertThat(out.names()).contains("baggage").doesNotContain(name);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void owsAroundKeysValuesAndMembersIsNotPartOfThem(Under hop) {
    assertThat(members(hop.send("baggage", " k1 = v1 ,\tk2\t=\tv2\t, k3=v3;p = 1 ")))
        .containsExactlyInAnyOrder("k1=v1", "k2=v2", "k3=v3;p = 1");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void severalBaggageHeadersAreCombined(Under hop) {
    assertThat(members(hop.send("baggage", "a=1", "baggage", "b=2", "BAGGAGE", "c=3")))
        .containsExactlyInAnyOrder("a=1", "b=2", "c=3");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void percentEncodedValuesStayEncoded(Under hop) {
    assertThat(members(hop.send("baggage", "k=a%2Cb%3Dc%20%C3%A9"))).containsExactly("k=a%2Cb%3Dc%20%C3%A9");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void equalSignsInAValueAreNotSeparators(Under hop) {
    assertThat(members(hop.send("baggage", "k=a=b,other=1"))).contains("other=1")
        .anyMatch(m -> m.startsWith("k=") && m.substring(2).replace("%3D", "=").equals("a=b"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void sixtyFourMembersArePropagated(Under hop) {
    String header = IntStream.range(0, 64).mapToObj(i -> "k" + i + "=v" + i).collect(Collectors.joining(","));
    assertThat(members(hop.send("baggage", header))).hasSize(64);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void beyondSixtyFourMembersWholeMembersAreDroppedFromTheEnd(Under hop) {
    String header = IntStream.range(0, 100).mapToObj(i -> "k" + i + "=v" + i).collect(Collectors.joining(","));
    Set<String> sent = members(hop.send("baggage", header));
    assertThat(sent).hasSize(64).allMatch(m -> m.matches("k(\\d+)=v\\1") && Integer.parseInt(m.substring(1, m.indexOf('='))) < 64);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void eightThousandOneHundredNinetyTwoBytesArePropagated(Under hop) {
    // 39 members of 204 bytes, the commas and one more member: exactly 8192 bytes.
    String header = IntStream.range(0, 39).mapToObj(i -> String.format("k%02d=", i) + "x".repeat(200))
        .collect(Collectors.joining(","));
    header = header + ",z=" + "y".repeat(8192 - header.length() - 3);
    assertThat(header.getBytes(StandardCharsets.UTF_8)).hasSize(8192);
    Forwarded out = hop.send("baggage", header);
    assertThat(members(out)).hasSize(40);
    assertThat(out.first("baggage").getBytes(StandardCharsets.UTF_8)).hasSize(8192);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void beyondEightThousandOneHundredNinetyTwoBytesWholeMembersAreDroppedFromTheEnd(Under hop) {
    String header = IntStream.range(0, 60).mapToObj(i -> String.format("k%02d=", i) + "x".repeat(200))
        .collect(Collectors.joining(","));
    String out = hop.send("baggage", header).first("baggage");
    assertThat(out).as("a header over 8192 bytes keeps the members that fit").isNotNull();
    assertThat(out.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(8192);
    assertThat(Set.of(out.split(","))).as("whole members only, the first ones")
        .hasSize(8192 / 205)
        .allMatch(m -> m.matches("k\\d\\d=x{200}") && Integer.parseInt(m.substring(1, 3)) < 8192 / 205);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void anInvalidMemberIsDroppedNotTheRest(Under hop) {
    assertThat(members(hop.send("baggage", "good=1,bad key=2,=3,fine=4"))).containsExactlyInAnyOrder("good=1", "fine=4");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void noBaggageNoHeader(Under hop) {
    assertThat(hop.send("accept", "*/*").all("baggage")).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hops")
  void baggageTravelsOnWhenTheTraceRestarts(Under hop) {
    Forwarded out = hop.send("traceparent", "00-" + "0".repeat(32) + "-b7ad6b7169203331-01", "baggage", "k=v");
    assertThat(out.all("baggage")).containsExactly("k=v");
    assertThat(out.traceparent().traceId()).isNotEqualTo("0".repeat(32));
  }
}
