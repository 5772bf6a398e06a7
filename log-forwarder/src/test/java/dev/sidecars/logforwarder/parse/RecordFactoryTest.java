package dev.sidecars.logforwarder.parse;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedOutputStream;
import dev.sidecars.runtime.config.Settings;
import io.opentelemetry.proto.logs.v1.LogRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A line handed over as bytes becomes the same record as the same line handed over as text, which is how
 * a line was read before: the fast path for plain text lines changes nothing a collector sees.
 */
class RecordFactoryTest {
  private static final FileAttributes FILE = FileAttributes.of("/logs/app.log", "app.log");

  private static final List<byte[]> LINES = new ArrayList<>();

  static {
    String pad = "x".repeat(130);
    for (String line : List.of(
        "", "plain line", "000000000001 INFO bench line xxxx", "INFO at the start", "ends with WARN",
        "[ERROR] bracketed", "xINFO glued to a letter", "INFOx glued after", "2024-01-01T00:00:00Z WARNING disk",
        "CRITICAL", "ERRORS is not a level", "an Error in prose", "DEBUGGING is not either",
        pad + " INFO beyond the window", "x".repeat(116) + " INFO", "x".repeat(115) + " INFO",
        "ts=1 level=warn msg=hi", "ts=1 level=\"error\" msg=hi", "ts=1 level=nope INFO", "INFO level=error",
        pad + " level=error", "  {\"level\":\"error\",\"msg\":\"json\"}", "{not json", "{\"msg\":\"é\"}",
        "é INFO accented first", "ÉINFO glued to an accented letter", "naïve WARN", "\u00a0{\"msg\":\"nbsp\"}",
        "tab\tINFO\tseparated", "\u2028INFO after a line separator", "日本語 ERROR")) {
      LINES.add(line.getBytes(StandardCharsets.UTF_8));
    }
    LINES.add(new byte[] {(byte) 0xC3, '(', ' ', 'I', 'N', 'F', 'O'}); // invalid UTF-8
    LINES.add(new byte[] {'W', 'A', 'R', 'N', ' ', (byte) 0xFF});
    LINES.add(new byte[] {'{', (byte) 0xFE, '}'});
    // Past the first eight bytes, where ASCII is checked a word at a time: invalid, then valid, non-ASCII.
    LINES.add(("0123456789abcdef INFO " + "x".repeat(9)).getBytes(StandardCharsets.UTF_8));
    byte[] late = ("0123456789abcdef INFO " + "x".repeat(9)).getBytes(StandardCharsets.UTF_8);
    late[late.length - 2] = (byte) 0xE2;
    LINES.add(late);
    LINES.add(("0123456789abcdef INFO tail é").getBytes(StandardCharsets.UTF_8));
  }

  /** A format of {@code kind}; the regex one with a level group and a message group. */
  private static LineFormat format(LineFormat.Kind kind) {
    return kind == LineFormat.Kind.REGEX
        ? LineFormat.from(Settings.of(Map.of("LOG_FORMAT", "(?<level>[A-Z]+) (?<msg>.*)")))
        : LineFormat.of(kind);
  }

  private static LogRecord withoutObservedTime(LogRecord record) {
    return record.toBuilder().clearObservedTimeUnixNano().build();
  }

  @ParameterizedTest
  @EnumSource(LineFormat.Kind.class)
  void aLineAsBytesIsTheRecordOfTheLineAsText(LineFormat.Kind kind) {
    LineFormat format = format(kind);
    RecordFactory records = new RecordFactory(format, () -> 42);
    for (byte[] line : LINES) {
      for (boolean truncated : new boolean[] {false, true}) {
        Utf8Text.Decoded text = Utf8Text.decode(line, 0, line.length);
        LogRecord fromText = records.create(records.entry(text.text(), truncated, text.invalid(), FILE));
        LogRecord fromBytes = records.create(records.entry(line.clone(), truncated, FILE, records.now()));
        assertThat(withoutObservedTime(fromBytes))
            .as("%s line %s, truncated %s", kind, new String(line, StandardCharsets.UTF_8), truncated)
            .isEqualTo(withoutObservedTime(fromText));
      }
    }
  }

  /**
   * A record written field by field from the line's bytes is byte for byte the generated message of the
   * same record, with and without an observed time, so a collector cannot tell the two paths apart.
   */
  @ParameterizedTest
  @EnumSource(LineFormat.Kind.class)
  void aRecordWrittenFromBytesIsItsGeneratedMessage(LineFormat.Kind kind) throws Exception {
    LineFormat format = format(kind);
    int plain = 0;
    for (long observed : new long[] {0, 42, 1_700_000_000_123_456_789L}) {
      RecordFactory records = new RecordFactory(format, () -> observed);
      for (byte[] line : LINES) {
        for (boolean truncated : new boolean[] {false, true}) {
          WireRecord record = records.record(records.entry(line.clone(), truncated, FILE, records.now()));
          plain += record instanceof PlainTextRecord ? 1 : 0;
          byte[] written = new byte[record.serializedSize()];
          CodedOutputStream out = CodedOutputStream.newInstance(written);
          record.writeTo(out);
          out.checkNoSpaceLeft();
          assertThat(written)
              .as("%s line %s, truncated %s", kind, new String(line, StandardCharsets.UTF_8), truncated)
              .isEqualTo(record.message().toByteArray());
        }
      }
    }
    if (kind == LineFormat.Kind.TEXT || kind == LineFormat.Kind.AUTO) {
      assertThat(plain).as("lines written from their bytes").isGreaterThan(LINES.size());
    }
  }
}
