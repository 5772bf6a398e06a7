package dev.sidecars.logforwarder.parse;

import dev.sidecars.runtime.config.Settings;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * How lines are read ({@code LOG_FORMAT}): {@code auto} (JSON objects parsed, the rest as text), {@code
 * json}, {@code text}, or a regular expression whose named groups become fields.
 *
 * @param kind which of the four
 * @param regex the pattern for {@link Kind#REGEX}
 * @param groups the pattern's group names, in order
 */
public record LineFormat(Kind kind, Optional<Pattern> regex, List<String> groups) {
  private static final Pattern GROUP_NAME = Pattern.compile("\\(\\?<([a-zA-Z][a-zA-Z0-9]*)>");

  /** The four ways of reading a line. */
  public enum Kind {
    AUTO,
    JSON,
    TEXT,
    REGEX
  }

  public static LineFormat of(Kind kind) {
    return new LineFormat(kind, Optional.empty(), List.of());
  }

  public static LineFormat from(Settings settings) {
    String value = settings.string("LOG_FORMAT", "auto");
    switch (value.toLowerCase(Locale.ROOT)) {
      case "auto":
        return of(Kind.AUTO);
      case "json":
        return of(Kind.JSON);
      case "text":
        return of(Kind.TEXT);
      default:
        break;
    }
    String accepts = "auto, json, text, or a regular expression with named groups such as (?<level>\\w+) (?<message>.*)";
    try {
      Pattern pattern = Pattern.compile(value);
      List<String> groups = new ArrayList<>();
      Matcher m = GROUP_NAME.matcher(value);
      while (m.find()) {
        groups.add(m.group(1));
      }
      if (groups.isEmpty()) {
        settings.problem("LOG_FORMAT", value, accepts);
        return of(Kind.AUTO);
      }
      return new LineFormat(Kind.REGEX, Optional.of(pattern), List.copyOf(groups));
    } catch (PatternSyntaxException e) {
      settings.problem("LOG_FORMAT", value, accepts);
      return of(Kind.AUTO);
    }
  }
}
