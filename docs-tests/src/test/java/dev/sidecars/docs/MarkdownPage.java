package dev.sidecars.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One Markdown file as the docs tests read it: its headings (with the anchors GitHub gives them), its links
 * outside code, and its tables. Only the Markdown the project writes is understood: ATX headings, fenced code
 * blocks, inline links and pipe tables.
 */
final class MarkdownPage {
  private static final Pattern HEADING = Pattern.compile("^(#{1,6})\\s+(.*?)\\s*#*\\s*$");
  private static final Pattern FENCE = Pattern.compile("^\\s*(```|~~~)");
  private static final Pattern INLINE_CODE = Pattern.compile("`[^`]*`");
  private static final Pattern LINK = Pattern.compile("!?\\[([^\\]]*)\\]\\(\\s*<?([^)\\s>]*)>?(?:\\s+\"[^\"]*\")?\\s*\\)");
  /** What GitHub keeps of a heading's text in its anchor: letters, digits, marks, {@code _}, {@code -}, spaces. */
  private static final Pattern NOT_IN_ANCHOR = Pattern.compile("[^\\p{L}\\p{N}\\p{M}\\p{Pc} -]");
  private static final Pattern ONE_NAME = Pattern.compile("`([A-Z][A-Z0-9_]*)`");

  /** A link as written: its target, and the line it is on (1-based). */
  record Link(String target, int line) {}

  /** A heading: its level, its text as written, its line (1-based). */
  record Heading(int level, String text, int line) {}

  private final Path file;
  private final List<String> lines;
  private final List<Boolean> inCode;

  private MarkdownPage(Path file, List<String> lines) {
    this.file = file;
    this.lines = lines;
    this.inCode = new ArrayList<>(lines.size());
    boolean code = false;
    for (String line : lines) {
      boolean fence = FENCE.matcher(line).find();
      inCode.add(code || fence);
      if (fence) {
        code = !code;
      }
    }
  }

  static MarkdownPage read(Path file) {
    try {
      return new MarkdownPage(file, Files.readAllLines(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Path file() {
    return file;
  }

  List<Heading> headings() {
    List<Heading> headings = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher m = HEADING.matcher(lines.get(i));
      if (!inCode.get(i) && m.matches()) {
        headings.add(new Heading(m.group(1).length(), m.group(2), i + 1));
      }
    }
    return headings;
  }

  /** The anchors GitHub makes of the headings, {@code -1}, {@code -2}… added to repeats. */
  Set<String> anchors() {
    Set<String> anchors = new LinkedHashSet<>();
    Map<String, Integer> seen = new HashMap<>();
    for (Heading heading : headings()) {
      String slug = slug(heading.text());
      int repeats = seen.merge(slug, 1, Integer::sum) - 1;
      anchors.add(repeats == 0 ? slug : slug + "-" + repeats);
    }
    return anchors;
  }

  /** GitHub's anchor for a heading: link text for links, no markup or punctuation, lower case, {@code -} for spaces. */
  static String slug(String headingText) {
    String text = LINK.matcher(headingText).replaceAll(m -> Matcher.quoteReplacement(m.group(1)));
    text = NOT_IN_ANCHOR.matcher(text.toLowerCase(Locale.ROOT)).replaceAll("");
    return text.replace(' ', '-');
  }

  /** Every link and image outside code blocks and inline code. */
  List<Link> links() {
    List<Link> links = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      if (inCode.get(i)) {
        continue;
      }
      String line = INLINE_CODE.matcher(lines.get(i)).replaceAll("code");
      Matcher m = LINK.matcher(line);
      while (m.find()) {
        links.add(new Link(m.group(2), i + 1));
      }
    }
    return links;
  }

  /** The text of the section under the first heading with this text, up to the next heading of its level or above. */
  Optional<List<String>> section(String headingText) {
    List<Heading> headings = headings();
    for (int h = 0; h < headings.size(); h++) {
      Heading heading = headings.get(h);
      if (heading.text().equals(headingText)) {
        int end = lines.size();
        for (Heading next : headings.subList(h + 1, headings.size())) {
          if (next.level() <= heading.level()) {
            end = next.line() - 1;
            break;
          }
        }
        return Optional.of(lines.subList(heading.line(), end));
      }
    }
    return Optional.empty();
  }

  /** The lines inside fenced code blocks of a section. */
  static List<String> codeLines(List<String> section) {
    List<String> code = new ArrayList<>();
    boolean inside = false;
    for (String line : section) {
      if (FENCE.matcher(line).find()) {
        inside = !inside;
      } else if (inside) {
        code.add(line);
      }
    }
    return code;
  }

  /** A pipe table: its header cells and its rows' cells, trimmed. */
  record Table(List<String> header, List<List<String>> rows) {}

  /** The first table of a section. */
  static Optional<Table> firstTable(List<String> section) {
    List<List<String>> rows = new ArrayList<>();
    for (String line : section) {
      if (line.trim().startsWith("|")) {
        rows.add(cells(line));
      } else if (!rows.isEmpty()) {
        break;
      }
    }
    if (rows.size() < 2) {
      return Optional.empty();
    }
    return Optional.of(new Table(rows.get(0), rows.subList(2, rows.size())));
  }

  /** A row's cells; {@code \|} inside a cell is a literal bar. */
  private static List<String> cells(String line) {
    String trimmed = line.trim();
    String inner = trimmed.substring(1, trimmed.endsWith("|") ? trimmed.length() - 1 : trimmed.length());
    return Arrays.stream(inner.split("(?<!\\\\)\\|", -1)).map(String::trim).toList();
  }

  /** The variable named by a table's first cell, written as {@code `NAME`} and nothing else. */
  static Optional<String> variableName(String firstCell) {
    Matcher m = ONE_NAME.matcher(firstCell);
    return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
  }
}
