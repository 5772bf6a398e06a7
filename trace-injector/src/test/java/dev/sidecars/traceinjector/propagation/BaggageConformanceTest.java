package dev.sidecars.traceinjector.propagation;

import static dev.sidecars.traceinjector.propagation.Hops.headers;
import static org.assertj.core.api.Assertions.assertThat;

import io.undertow.util.HeaderMap;
import io.undertow.util.HttpString;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** W3C Baggage, one test per requirement of the specification (section named in each). */
class BaggageConformanceTest {
  private static String sent(HeaderMap in) {
    return Hops.w3c(in).first("baggage");
  }

  /** Members as a set: the order of baggage members carries no meaning and is not kept. */
  private static java.util.Set<String> members(String header) {
    return header == null ? java.util.Set.of() : java.util.Set.of(header.split(","));
  }

  @Test
  void membersAndPropertiesPassThrough_3_3() {
    assertThat(members(sent(headers("baggage", "userId=alice,serverNode=DF%2028;prop=1;flag"))))
        .containsExactlyInAnyOrder("userId=alice", "serverNode=DF%2028;prop=1;flag");
  }

  @Test
  void headerNameInAnyCase_3_1() {
    assertThat(sent(headers("BAGGAGE", "k=v"))).isEqualTo("k=v");
  }

  @Test
  void owsAroundMembersAndValuesIsNotPartOfThem_3_3_1() {
    assertThat(members(sent(headers("baggage", " k1 = v1 ,\tk2=v2 ")))).containsExactlyInAnyOrder("k1=v1", "k2=v2");
  }

  @Test
  void severalHeaderFieldsAreCombined_3_2() {
    assertThat(members(sent(headers("baggage", "a=1", "baggage", "b=2")))).containsExactlyInAnyOrder("a=1", "b=2");
  }

  @Test
  void percentEncodedValuesStayEncoded_3_3_1_2() {
    assertThat(sent(headers("baggage", "k=a%2Cb%3Dc%20%C3%A9"))).isEqualTo("k=a%2Cb%3Dc%20%C3%A9");
  }

  @Test
  void atLeast64MembersArePropagatedAndOnlyWholeMembersDropped_3_4() {
    String members = IntStream.range(0, 100).mapToObj(i -> "k" + i + "=v" + i).collect(Collectors.joining(","));
    java.util.Set<String> sentMembers = members(sent(headers("baggage", members)));
    assertThat(sentMembers).hasSize(64);
    assertThat(sentMembers).as("the first 64, whole").allMatch(m -> m.matches("k(\\d+)=v\\1") && Integer.parseInt(m.substring(1, m.indexOf('='))) < 64);
  }

  @Test
  void atLeast8192BytesArePropagatedAndOnlyWholeMembersDropped_3_4() {
    String value = "x".repeat(200);
    String members = IntStream.range(0, 60).mapToObj(i -> "k" + i + "=" + value).collect(Collectors.joining(","));
    String out = sent(headers("baggage", members));
    assertThat(out).as("a header over 8192 bytes keeps the members that fit").isNotNull();
    assertThat(out.length()).isGreaterThanOrEqualTo(8192 - 210).isLessThanOrEqualTo(8192);
    assertThat(List.of(out.split(","))).allMatch(m -> m.matches("k\\d+=x{200}"));
  }

  @Test
  void aMemberWithABadKeyIsDroppedNotTheRest_3_3_1_1() {
    assertThat(members(sent(headers("baggage", "good=1,bad key=2,also good=3,fine=4")))).containsExactlyInAnyOrder("good=1", "fine=4");
  }

  @Test
  void noBaggageNoHeader() {
    assertThat(sent(headers("accept", "*/*"))).isNull();
  }

  @Test
  void baggageTravelsEvenWhenTheTraceRestarts() {
    HeaderMap in = headers("traceparent", "00-" + "0".repeat(32) + "-b7ad6b7169203331-01", "baggage", "k=v");
    Hops.Out out = Hops.w3c(in);
    assertThat(out.first("baggage")).isEqualTo("k=v");
    assertThat(out.traceId()).isNotEqualTo("0".repeat(32));
  }

  @Test
  void notConfiguredMeansUntouched() {
    HeaderMap in = headers("baggage", "anything goes ;;; here");
    in.add(HttpString.tryFromString("x-other"), "1");
    Hops.Out out = Hops.hop(List.of("tracecontext"), in);
    assertThat(out.first("baggage")).isEqualTo("anything goes ;;; here");
  }
}
