package dev.sidecars.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Proves that every typed read of {@link Settings} parses the forms the contract documents, falls back
 * to its default when a variable is unset or blank, and that {@link Settings#validate()} reports every
 * bad variable at once, one line each, naming the variable and what it accepts.
 */
class SettingsTest {

  private static Settings settings(String... nameValuePairs) {
    Map<String, String> env = new HashMap<>();
    for (int i = 0; i < nameValuePairs.length; i += 2) {
      env.put(nameValuePairs[i], nameValuePairs[i + 1]);
    }
    return Settings.of(env);
  }

  private static List<String> problems(Settings settings) {
    return catchThrowableOfType(ConfigException.class, settings::validate).problems();
  }

  @Test
  void portAcceptsZeroToMaxAndZeroMeansPickAFreePort() {
    Settings s = settings("A", "8080", "B", "0", "C", "65535", "D", " 15090 ");

    assertThat(s.port("A", 1)).isEqualTo(8080);
    assertThat(s.port("B", 1)).isZero();
    assertThat(s.port("C", 1)).isEqualTo(65535);
    assertThat(s.port("D", 1)).as("surrounding blanks are trimmed").isEqualTo(15090);
    assertThatCode(s::validate).doesNotThrowAnyException();
  }

  @Test
  void portOutOfRangeOrNotANumberIsAProblemAndTheDefaultIsUsed() {
    Settings s = settings("HIGH", "65536", "NEG", "-1", "WORD", "abc");

    assertThat(s.port("HIGH", 15090)).isEqualTo(15090);
    assertThat(s.port("NEG", 15090)).isEqualTo(15090);
    assertThat(s.port("WORD", 15090)).isEqualTo(15090);
    assertThat(problems(s))
        .containsExactly(
            "HIGH=\"65536\": expected a port number 0-65535 (0 picks a free port)",
            "NEG=\"-1\": expected a port number 0-65535 (0 picks a free port)",
            "WORD=\"abc\": expected a port number 0-65535 (0 picks a free port)");
  }

  @Test
  void integerHonoursItsBoundsInclusively() {
    Settings s = settings("LOW", "1", "TOP", "10", "OVER", "11", "HALF", "2.5");

    assertThat(s.integer("LOW", 5, 1, 10)).isEqualTo(1);
    assertThat(s.integer("TOP", 5, 1, 10)).isEqualTo(10);
    assertThat(s.integer("OVER", 5, 1, 10)).isEqualTo(5);
    assertThat(s.integer("HALF", 5, 1, 10)).isEqualTo(5);
    assertThat(problems(s))
        .containsExactly(
            "OVER=\"11\": expected a whole number from 1 to 10",
            "HALF=\"2.5\": expected a whole number from 1 to 10");
  }

  @Test
  void durationTakesMillisecondsSecondsMinutesHoursAndBareSeconds() {
    Settings s =
        settings(
            "MS", "250ms", "S", "20s", "M", "2m", "H", "1h", "BARE", "15", "FRACTION", "1.5s",
            "UPPER", "3S");

    Duration fallback = Duration.ofDays(1);
    assertThat(s.duration("MS", fallback)).isEqualTo(Duration.ofMillis(250));
    assertThat(s.duration("S", fallback)).isEqualTo(Duration.ofSeconds(20));
    assertThat(s.duration("M", fallback)).isEqualTo(Duration.ofMinutes(2));
    assertThat(s.duration("H", fallback)).isEqualTo(Duration.ofHours(1));
    assertThat(s.duration("BARE", fallback)).isEqualTo(Duration.ofSeconds(15));
    assertThat(s.duration("FRACTION", fallback)).isEqualTo(Duration.ofMillis(1500));
    assertThat(s.duration("UPPER", fallback)).isEqualTo(Duration.ofSeconds(3));
    assertThatCode(s::validate).doesNotThrowAnyException();
  }

  @Test
  void durationWithoutAKnownUnitIsAProblem() {
    Settings s = settings("SHUTDOWN_GRACE", "soon", "NEGATIVE", "-5s", "DAYS", "2d");

    assertThat(s.duration("SHUTDOWN_GRACE", Duration.ofSeconds(20))).isEqualTo(Duration.ofSeconds(20));
    s.duration("NEGATIVE", Duration.ZERO);
    s.duration("DAYS", Duration.ZERO);
    assertThat(problems(s))
        .containsExactly(
            "SHUTDOWN_GRACE=\"soon\": expected a duration such as 500ms, 20s, 2m or 1h",
            "NEGATIVE=\"-5s\": expected a duration such as 500ms, 20s, 2m or 1h",
            "DAYS=\"2d\": expected a duration such as 500ms, 20s, 2m or 1h");
  }

  @Test
  void bytesTakesPlainBytesAndBinaryKibMibGib() {
    Settings s =
        settings("PLAIN", "65536", "KIB", "64KiB", "MIB", "64MiB", "KB", "1kb", "GIB", "2GiB");

    assertThat(s.bytes("PLAIN", 1, 0)).isEqualTo(65_536L);
    assertThat(s.bytes("KIB", 1, 0)).isEqualTo(64L * 1024);
    assertThat(s.bytes("MIB", 1, 0)).isEqualTo(64L * 1024 * 1024);
    assertThat(s.bytes("KB", 1, 0)).as("KB is taken as binary too").isEqualTo(1024L);
    assertThat(s.bytes("GIB", 1, 0)).isEqualTo(2L << 30);
    assertThatCode(s::validate).doesNotThrowAnyException();
  }

  @Test
  void bytesBelowTheMinimumOrWithAnUnknownUnitOrOverflowingIsAProblem() {
    Settings s =
        settings("SMALL", "512", "UNIT", "64 parsecs", "HUGE", "99999999999GiB");

    assertThat(s.bytes("SMALL", 4096, 1024)).isEqualTo(4096);
    assertThat(s.bytes("UNIT", 4096, 1024)).isEqualTo(4096);
    assertThat(s.bytes("HUGE", 4096, 1024)).isEqualTo(4096);
    assertThat(problems(s))
        .hasSize(3)
        .allSatisfy(
            line -> assertThat(line).endsWith("expected a size of at least 1024 bytes, such as 65536, 64KiB or 64MiB"));
  }

  @Test
  void boolTakesTheUsualWordsInAnyCase() {
    Settings s =
        settings(
            "T1", "true", "T2", "ON", "T3", "yes", "T4", "1", "F1", "false", "F2", "Off", "F3", "NO",
            "F4", "0");

    for (String name : List.of("T1", "T2", "T3", "T4")) {
      assertThat(s.bool(name, false)).as(name).isTrue();
    }
    for (String name : List.of("F1", "F2", "F3", "F4")) {
      assertThat(s.bool(name, true)).as(name).isFalse();
    }
    assertThatCode(s::validate).doesNotThrowAnyException();
  }

  @Test
  void boolOtherWordIsAProblem() {
    Settings s = settings("FLAG", "maybe");

    assertThat(s.bool("FLAG", true)).isTrue();
    assertThat(problems(s)).containsExactly("FLAG=\"maybe\": expected true or false");
  }

  @Test
  void oneOfComparesWithoutCaseAndReturnsTheLowerCaseWord() {
    Settings s = settings("PROTOCOL", "GRPC", "BAD", "udp");

    assertThat(s.oneOf("PROTOCOL", "http", "http", "grpc")).isEqualTo("grpc");
    assertThat(s.oneOf("BAD", "http", "http", "grpc")).isEqualTo("http");
    assertThat(problems(s)).containsExactly("BAD=\"udp\": expected one of http, grpc");
  }

  @Test
  void listSplitsOnCommasTrimsAndDropsBlanks() {
    Settings s = settings("HEADERS", " a, ,b ,c,");

    assertThat(s.list("HEADERS")).containsExactly("a", "b", "c");
    assertThat(s.list("UNSET")).isEmpty();
  }

  @Test
  void regexCompilesOrReportsWhyNot() {
    Settings s = settings("GOOD", "^GET /api/\\d+$", "BAD", "(unclosed");

    assertThat(s.regex("GOOD")).map(p -> p.matcher("GET /api/42").matches()).contains(true);
    assertThat(s.regex("BAD")).isEmpty();
    assertThat(problems(s))
        .singleElement()
        .satisfies(
            line -> {
              assertThat(line).startsWith("BAD=\"(unclosed\": expected a valid regular expression (");
              assertThat(line).doesNotContain("\n");
            });
  }

  @Test
  void unsetAndBlankVariablesGiveTheDefaults() {
    // Blank is unset, as for the OpenTelemetry SDK: an empty value in a manifest must not be an error.
    for (Settings s : List.of(settings(), settings("V", ""), settings("V", "   "))) {
      assertThat(s.optional("V")).isEmpty();
      assertThat(s.string("V", "dflt")).isEqualTo("dflt");
      assertThat(s.port("V", 15090)).isEqualTo(15090);
      assertThat(s.integer("V", 7, 1, 10)).isEqualTo(7);
      assertThat(s.duration("V", Duration.ofSeconds(20))).isEqualTo(Duration.ofSeconds(20));
      assertThat(s.bytes("V", 65_536, 1)).isEqualTo(65_536L);
      assertThat(s.bool("V", true)).isTrue();
      assertThat(s.oneOf("V", "info", "info", "debug")).isEqualTo("info");
      assertThat(s.list("V")).isEmpty();
      assertThat(s.regex("V")).isEmpty();
      assertThatCode(s::validate).doesNotThrowAnyException();
    }
  }

  @Test
  void stringIsTrimmed() {
    assertThat(settings("URL", "  http://app:8080 \t").string("URL", "x")).isEqualTo("http://app:8080");
  }

  @Test
  void validateReportsEveryBadVariableAtOnceOneLineEachNamingIt() {
    Settings s =
        settings(
            "ADMIN_PORT", "abc",
            "SHUTDOWN_GRACE", "soon",
            "LOG_LEVEL", "loud",
            "BUFFER", "lots",
            "ENABLED", "perhaps",
            "FILTER", "[");

    s.port("ADMIN_PORT", 15090);
    s.duration("SHUTDOWN_GRACE", Duration.ofSeconds(20));
    s.oneOf("LOG_LEVEL", "info", "trace", "debug", "info", "warn", "error");
    s.bytes("BUFFER", 1024, 1);
    s.bool("ENABLED", false);
    s.regex("FILTER");
    s.port("GOOD_PORT", 1);

    ConfigException e = catchThrowableOfType(ConfigException.class, s::validate);

    assertThat(e.problems()).hasSize(6);
    assertThat(e.problems())
        .zipSatisfy(
            List.of("ADMIN_PORT", "SHUTDOWN_GRACE", "LOG_LEVEL", "BUFFER", "ENABLED", "FILTER"),
            (line, name) -> {
              assertThat(line).startsWith(name + "=");
              assertThat(line).contains(": expected ");
              assertThat(line).doesNotContain("\n");
            });
    assertThat(e.problems().get(2)).endsWith("expected one of trace, debug, info, warn, error");
    assertThat(e.getMessage()).isEqualTo(String.join("\n", e.problems()));
  }

  @Test
  void aValueWithALineBreakStillGivesOneLine() {
    // A block scalar in a manifest can put a newline in a variable; the report must stay one line each.
    Settings s = settings("ADMIN_PORT", "80\n81", "NEXT", "x");
    s.port("ADMIN_PORT", 1);
    s.bool("NEXT", false);

    List<String> problems = problems(s);

    assertThat(problems).hasSize(2);
    assertThat(String.join("\n", problems).lines()).hasSize(2);
    assertThat(problems.get(0)).startsWith("ADMIN_PORT=\"80\\n81\": expected a port number");
  }

  @Test
  void callersCanRecordTheirOwnProblemsInTheSameShape() {
    Settings s = settings("TARGET_URL", "ftp://x");
    s.problem("TARGET_URL", s.string("TARGET_URL", ""), "an http:// or https:// URL");

    assertThat(problems(s)).containsExactly("TARGET_URL=\"ftp://x\": expected an http:// or https:// URL");
  }

  @Test
  void lookupFunctionIsUsedAsIs() {
    Settings s = Settings.from(name -> name.equals("P") ? "99" : null);

    assertThat(s.port("P", 1)).isEqualTo(99);
    assertThat(s.lookup().apply("P")).isEqualTo("99");
  }

  @Test
  void namesReadListsEveryNameLookedUpThroughAnyReadSetOrNotInFirstReadOrder() {
    Settings s = settings("PORT", "1", "FLAG", "on");

    s.port("PORT", 2);
    s.bool("FLAG", false);
    s.duration("UNSET_DURATION", Duration.ofSeconds(1));
    s.bytes("UNSET_SIZE", 1, 0);
    s.list("UNSET_LIST");
    s.regex("UNSET_REGEX");
    s.oneOf("UNSET_WORD", "a", "a", "b");
    s.integer("PORT", 3, 0, 9);

    assertThat(s.namesRead())
        .containsExactly("PORT", "FLAG", "UNSET_DURATION", "UNSET_SIZE", "UNSET_LIST", "UNSET_REGEX", "UNSET_WORD");
  }
}
