package dev.sidecars.runtime.propagation;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code tracestate} rules on their own, received value to forwarded value (the proxies' conformance
 * suite checks the same over HTTP). A valid value goes on as the very string received.
 */
class TraceStateHeaderTest {
  static Stream<Arguments> values() {
    String members32 = IntStream.rangeClosed(1, 32).mapToObj(i -> "k" + i + "=" + i).collect(Collectors.joining(","));
    String large = "big=" + "x".repeat(200);
    String nine = IntStream.range(0, 9).mapToObj(i -> "v" + i + "=" + "y".repeat(50)).collect(Collectors.joining(","));
    return Stream.of(
        Arguments.of("valid", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        Arguments.of("empty", "", null),
        Arguments.of("only separators and whitespace", " , ,\t", null),
        Arguments.of("whitespace and empty members dropped", " a=1 ,, \t,b=2\t", "a=1,b=2"),
        Arguments.of("leading space of a value kept", "a= 1", "a= 1"),
        Arguments.of("trailing space of the last value is whitespace", "a=1 ", "a=1"),
        Arguments.of("identical duplicates: one", "foo=1,foo=1", "foo=1"),
        Arguments.of("different duplicates: the first", "foo=1,foo=2,bar=3", "foo=1,bar=3"),
        Arguments.of("@ anywhere after the first character", "foo@=1,foo@@bar=2,t@" + "v".repeat(15) + "=3",
            "foo@=1,foo@@bar=2,t@" + "v".repeat(15) + "=3"),
        Arguments.of("@ first: that member dropped", "@foo=1,bar=2", "bar=2"),
        Arguments.of("key of 256 kept", "z".repeat(256) + "=1", "z".repeat(256) + "=1"),
        Arguments.of("key of 257: that member dropped", "foo=1," + "z".repeat(257) + "=1", "foo=1"),
        Arguments.of("value of 256 kept", "a=" + "v".repeat(256), "a=" + "v".repeat(256)),
        Arguments.of("value of 257: that member dropped", "a=" + "v".repeat(257) + ",b=2", "b=2"),
        Arguments.of("bad members among good", "A=1,b=,c=3,d=x=y,=5,f,g=\t,h=8", "c=3,h=8"),
        Arguments.of("32 members kept", members32, members32),
        Arguments.of("33 members: the right-most dropped", members32 + ",k33=33", members32),
        Arguments.of("32 valid members after bad ones", "X=0," + members32 + ",k33=33", members32),
        Arguments.of("over 512: large members first", large + "," + nine, nine),
        Arguments.of("over 512: then from the right", nine + ",last=" + "z".repeat(60), nine));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("values")
  void forwarded(String rule, String received, String forwarded) {
    assertThat(TraceStateHeader.forwarded(received)).isEqualTo(forwarded);
  }

  @Test
  void aValidValueGoesOnAsTheSameString() {
    String received = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    assertThat(TraceStateHeader.forwarded(received)).isSameAs(received);
  }
}
