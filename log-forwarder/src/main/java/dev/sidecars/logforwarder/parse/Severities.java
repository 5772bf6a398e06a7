package dev.sidecars.logforwarder.parse;

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
