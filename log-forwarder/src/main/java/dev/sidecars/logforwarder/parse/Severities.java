package dev.sidecars.logforwarder.parse;

import com.google.protobuf.ByteString;
import io.opentelemetry.api.logs.Severity;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Level words and numbers as logging libraries write them, mapped to OpenTelemetry severities. */
final class Severities {
  // Upper-case words only, or logfmt's level=: a lower-case "error" in prose is not a level.
  private static final java.util.Map<String, Severity> LEVEL_WORDS = java.util.Map.ofEntries(
      java.util.Map.entry("TRACE", Severity.TRACE), java.util.Map.entry("DEBUG", Severity.DEBUG),
      java.util.Map.entry("INFO", Severity.INFO), java.util.Map.entry("NOTICE", Severity.INFO2),
      java.util.Map.entry("WARN", Severity.WARN), java.util.Map.entry("WARNING", Severity.WARN),
      java.util.Map.entry("ERROR", Severity.ERROR), java.util.Map.entry("SEVERE", Severity.ERROR),
      java.util.Map.entry("CRITICAL", Severity.FATAL), java.util.Map.entry("FATAL", Severity.FATAL),
      java.util.Map.entry("PANIC", Severity.FATAL));
  private static final Pattern LOGFMT_LEVEL = Pattern.compile("\\blevel=\"?([A-Za-z]+)");
  private static final int TEXT_WINDOW = 120;

  private Severities() {}

  /** The severity a level name or number stands for; {@link Severity#UNDEFINED_SEVERITY_NUMBER} if none. */
  static Severity of(String level) {
    if (level == null || level.isEmpty()) {
      return Severity.UNDEFINED_SEVERITY_NUMBER;
    }
    String l = level.trim().toLowerCase(Locale.ROOT);
    switch (l) {
      case "trace", "finest", "finer":
        return Severity.TRACE;
      case "debug", "fine", "config", "dbg":
        return Severity.DEBUG;
      case "info", "information", "informational", "inf":
        return Severity.INFO;
      case "notice":
        return Severity.INFO2;
      case "warn", "warning", "wrn":
        return Severity.WARN;
      case "error", "err", "severe", "eror":
        return Severity.ERROR;
      case "critical", "crit", "alert":
        return Severity.FATAL;
      case "fatal", "emerg", "emergency", "panic", "dpanic":
        return Severity.FATAL;
      default:
        break;
    }
    try {
      return ofNumber(Long.parseLong(l));
    } catch (NumberFormatException e) {
      return Severity.UNDEFINED_SEVERITY_NUMBER;
    }
  }

  /** Pino/Bunyan numbers (10..60); other numbers are not guessed. */
  static Severity ofNumber(long n) {
    if (n == 10) {
      return Severity.TRACE;
    } else if (n == 20) {
      return Severity.DEBUG;
    } else if (n == 30) {
      return Severity.INFO;
    } else if (n == 40) {
      return Severity.WARN;
    } else if (n == 50) {
      return Severity.ERROR;
    } else if (n == 60) {
      return Severity.FATAL;
    }
    return Severity.UNDEFINED_SEVERITY_NUMBER;
  }

  /** A level word as found in a line: the word as written (UTF-8, for the record), and its severity. */
  record Level(ByteString wordUtf8, Severity severity) {}

  /** {@link #findInText(byte[])}: no level word. */
  static final Level NONE = new Level(ByteString.EMPTY, Severity.UNDEFINED_SEVERITY_NUMBER);
  /** {@link #findInText(byte[])}: the bytes alone cannot tell; ask {@link #findInText(String)}. */
  static final Level UNDECIDED = new Level(ByteString.EMPTY, Severity.UNDEFINED_SEVERITY_NUMBER);

  private static final Level[] LEVELS = LEVEL_WORDS.entrySet().stream()
      .map(e -> new Level(ByteString.copyFromUtf8(e.getKey()), e.getValue()))
      .toArray(Level[]::new);

  /**
   * {@link #findInText(String)} on a line's bytes, for lines whose first {@value #TEXT_WINDOW} bytes are
   * ASCII and hold no {@code level=}: the same word, found without making the line a String. {@link
   * #UNDECIDED} otherwise (a non-ASCII character's letterhood, or logfmt, needs the text).
   */
  static Level findInText(byte[] line) {
    int limit = Math.min(line.length, TEXT_WINDOW);
    int wordStart = -1;
    for (int i = 0; i <= limit; i++) {
      int c = i < limit ? line[i] : ' ';
      if (c < 0) {
        return UNDECIDED;
      }
      if (c >= 'A' && c <= 'Z') {
        if (wordStart < 0 && (i == 0 || !asciiLetterOrDigit(line[i - 1]))) {
          wordStart = i;
        }
        continue;
      }
      if (wordStart >= 0 && i - wordStart >= 4 && i - wordStart <= 8 && !asciiLetterOrDigit(c)) {
        Level level = levelWord(line, wordStart, i);
        if (level != null) {
          return level;
        }
      }
      wordStart = -1;
    }
    return containsLevelKey(line) ? UNDECIDED : NONE;
  }

  private static boolean asciiLetterOrDigit(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }

  private static Level levelWord(byte[] line, int from, int to) {
    for (Level level : LEVELS) {
      ByteString word = level.wordUtf8();
      if (word.size() != to - from) {
        continue;
      }
      boolean same = true;
      for (int k = 0; k < word.size() && same; k++) {
        same = word.byteAt(k) == line[from + k];
      }
      if (same) {
        return level;
      }
    }
    return null;
  }

  /** Whether {@code level=} starts within the window, where the text form looks for it. */
  private static boolean containsLevelKey(byte[] line) {
    int last = Math.min(TEXT_WINDOW - 1, line.length - 6);
    for (int i = 0; i <= last; i++) {
      if (line[i] == 'l' && line[i + 1] == 'e' && line[i + 2] == 'v' && line[i + 3] == 'e' && line[i + 4] == 'l'
          && line[i + 5] == '=') {
        return true;
      }
    }
    return false;
  }

  /**
   * The first level word near the start of a text line, with the word itself; null when none. A plain
   * scan rather than a regex: it runs on every text line, and upper-case words are rare enough to
   * check against the list only when one ends.
   */
  static String[] findInText(String line) {
    int limit = Math.min(line.length(), TEXT_WINDOW);
    int wordStart = -1;
    for (int i = 0; i <= limit; i++) {
      char c = i < limit ? line.charAt(i) : ' ';
      boolean upper = c >= 'A' && c <= 'Z';
      if (upper) {
        if (wordStart < 0 && (i == 0 || !Character.isLetterOrDigit(line.charAt(i - 1)))) {
          wordStart = i;
        }
        continue;
      }
      if (wordStart >= 0 && i - wordStart >= 4 && i - wordStart <= 8 && !Character.isLetterOrDigit(c)) {
        String word = line.substring(wordStart, i);
        Severity severity = LEVEL_WORDS.get(word);
        if (severity != null) {
          return new String[] {word, severity.name()};
        }
      }
      wordStart = -1;
    }
    int level = line.indexOf("level=");
    if (level >= 0 && level < TEXT_WINDOW) {
      Matcher m = LOGFMT_LEVEL.matcher(line);
      if (m.find(level)) {
        Severity s = of(m.group(1));
        if (s != Severity.UNDEFINED_SEVERITY_NUMBER) {
          return new String[] {m.group(1), s.name()};
        }
      }
    }
    return null;
  }
}
