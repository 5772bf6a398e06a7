package dev.sidecars.runtime.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Typed reads from one {@code name -> value} lookup (the process environment in production, a map in
 * tests). Every read returns a usable value; problems are collected and reported together by {@link
 * #validate()}, so a user fixes all bad variables in one go. It also remembers which names were looked
 * up ({@link #namesRead()}), so the variables a configuration reads can be listed from its own code.
 */
public final class Settings {
  private static final Pattern DURATION =
      Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern BYTES =
      Pattern.compile("(\\d+)(b|kb|kib|mb|mib|gb|gib)?", Pattern.CASE_INSENSITIVE);

  private final Function<String, String> lookup;
  private final List<String> problems = new ArrayList<>();
  private final Set<String> namesRead = new LinkedHashSet<>();
  private final Map<String, Integer> portsRead = new LinkedHashMap<>();

  private Settings(Function<String, String> lookup) {
    this.lookup = lookup;
  }

  public static Settings from(Function<String, String> lookup) {
    return new Settings(lookup);
  }

  public static Settings fromEnvironment() {
    return new Settings(System::getenv);
  }

  public static Settings of(Map<String, String> values) {
    return new Settings(values::get);
  }

  /** The raw lookup, for libraries that read the same variables themselves. */
  public Function<String, String> lookup() {
    return lookup;
  }

  /** The value, trimmed; empty values count as unset, as they do for the OpenTelemetry SDK. */
  public Optional<String> optional(String name) {
    namesRead.add(name);
    String value = lookup.apply(name);
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(value.trim());
  }

  public String string(String name, String defaultValue) {
    return optional(name).orElse(defaultValue);
  }

  public int port(String name, int defaultValue) {
    int port = integer(name, defaultValue, 0, 65535, "a port number 0-65535 (0 picks a free port)");
    portsRead.put(name, port);
    return port;
  }

  public int integer(String name, int defaultValue, int min, int max) {
    return integer(name, defaultValue, min, max, "a whole number from " + min + " to " + max);
  }

  private int integer(String name, int defaultValue, int min, int max, String accepts) {
    Optional<String> value = optional(name);
    if (value.isEmpty()) {
      return defaultValue;
    }
    try {
      int parsed = Integer.parseInt(value.get());
      if (parsed >= min && parsed <= max) {
        return parsed;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    problem(name, value.get(), accepts);
    return defaultValue;
  }

  /** A duration such as {@code 500ms}, {@code 20s}, {@code 2m} or {@code 1h}; a bare number is seconds. */
  public Duration duration(String name, Duration defaultValue) {
    Optional<String> value = optional(name);
    if (value.isEmpty()) {
      return defaultValue;
    }
    Matcher m = DURATION.matcher(value.get());
    if (m.matches()) {
      double amount = Double.parseDouble(m.group(1));
      String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
      double millis =
          switch (unit) {
            case "ms" -> amount;
            case "m" -> amount * 60_000;
            case "h" -> amount * 3_600_000;
            default -> amount * 1000;
          };
      return Duration.ofMillis(Math.round(millis));
    }
    problem(name, value.get(), "a duration such as 500ms, 20s, 2m or 1h");
    return defaultValue;
  }

  /** A size such as {@code 65536}, {@code 64KiB} or {@code 64MiB} (KB/MB/GB are taken as binary too). */
  public long bytes(String name, long defaultValue, long min) {
    Optional<String> value = optional(name);
    if (value.isEmpty()) {
      return defaultValue;
    }
    Matcher m = BYTES.matcher(value.get());
    if (m.matches()) {
      try {
        long amount = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        long factor =
            switch (unit) {
              case "kb", "kib" -> 1L << 10;
              case "mb", "mib" -> 1L << 20;
              case "gb", "gib" -> 1L << 30;
              default -> 1L;
            };
        long bytes = Math.multiplyExact(amount, factor);
        if (bytes >= min) {
          return bytes;
        }
      } catch (ArithmeticException | NumberFormatException e) {
        // reported below
      }
    }
    problem(name, value.get(), "a size of at least " + min + " bytes, such as 65536, 64KiB or 64MiB");
    return defaultValue;
  }

  public boolean bool(String name, boolean defaultValue) {
    Optional<String> value = optional(name);
    if (value.isEmpty()) {
      return defaultValue;
    }
    switch (value.get().toLowerCase(Locale.ROOT)) {
      case "true", "on", "yes", "1":
        return true;
      case "false", "off", "no", "0":
        return false;
      default:
        problem(name, value.get(), "true or false");
        return defaultValue;
    }
  }

  /** One of a fixed set of words, compared without case; returns the lower-case form. */
  public String oneOf(String name, String defaultValue, String... allowed) {
    Optional<String> value = optional(name);
    if (value.isEmpty()) {
      return defaultValue;
    }
    String lower = value.get().toLowerCase(Locale.ROOT);
    if (Arrays.asList(allowed).contains(lower)) {
      return lower;
    }
    problem(name, value.get(), "one of " + String.join(", ", allowed));
    return defaultValue;
  }

  /** A comma-separated list, blanks dropped. */
  public List<String> list(String name) {
    return optional(name)
        .map(v -> Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList())
        .orElse(List.of());
  }

  public Optional<Pattern> regex(String name) {
    Optional<String> value = optional(name);
    if (value.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Pattern.compile(value.get()));
    } catch (PatternSyntaxException e) {
      problem(name, value.get(), "a valid regular expression (" + e.getDescription() + ")");
      return Optional.empty();
    }
  }

  /**
   * Every name looked up so far, in the order first read, whether it was set or not: what a configuration
   * that reads all its variables up front (as every {@code *Config.from} here does) depends on.
   */
  public Set<String> namesRead() {
    return Collections.unmodifiableSet(namesRead);
  }

  /** Every port read with {@link #port}, by variable, as chosen (the default when unset): to name a taken one. */
  public Map<String, Integer> portsRead() {
    return Collections.unmodifiableMap(portsRead);
  }

  /** Records a problem found by a caller's own check, in the same one-line shape. */
  public void problem(String name, String value, String accepts) {
    problems.add(name + "=\"" + oneLine(value) + "\": expected " + accepts);
  }

  /** Control characters escaped, so a value with a line break still gives one line per problem. */
  private static String oneLine(String value) {
    StringBuilder out = new StringBuilder(value.length());
    for (char c : value.toCharArray()) {
      switch (c) {
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (Character.isISOControl(c)) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }

  /** Throws with every problem recorded so far; call once, after the last read. */
  public void validate() {
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
  }
}
