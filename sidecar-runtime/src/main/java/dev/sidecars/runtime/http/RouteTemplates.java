package dev.sidecars.runtime.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Route templates such as {@code /users/{id}} or {@code /orders/{id}/items}, matched against request
 * paths to give a low-cardinality {@code http.route}. A {@code {name}} segment matches exactly one path
 * segment; a final {@code *} matches the rest of the path. The first template that matches wins; an
 * unmatched path has no route, and metrics label it {@link #UNMATCHED}, never with the raw path.
 */
public final class RouteTemplates {
  /** The one label unmatched paths share. */
  public static final String UNMATCHED = "_OTHER";

  private final List<Template> templates;

  private RouteTemplates(List<Template> templates) {
    this.templates = templates;
  }

  /** No templates: every path is unmatched. */
  public static RouteTemplates none() {
    return new RouteTemplates(List.of());
  }

  /**
   * Parses templates; throws {@link IllegalArgumentException} naming the first bad one (callers turn
   * that into a configuration problem).
   */
  public static RouteTemplates parse(List<String> templates) {
    List<Template> parsed = new ArrayList<>();
    for (String template : templates) {
      parsed.add(Template.parse(template));
    }
    return new RouteTemplates(List.copyOf(parsed));
  }

  /** The template matching {@code path} (without query), if any. */
  public Optional<String> match(String path) {
    if (path == null || templates.isEmpty()) {
      return Optional.empty();
    }
    String[] segments = split(path);
    for (Template t : templates) {
      if (t.matches(segments)) {
        return Optional.of(t.text);
      }
    }
    return Optional.empty();
  }

  /** The route for {@code path}, or {@link #UNMATCHED}. */
  public String label(String path) {
    return match(path).orElse(UNMATCHED);
  }

  public List<String> templates() {
    return templates.stream().map(t -> t.text).toList();
  }

  private static String[] split(String path) {
    String trimmed = path.startsWith("/") ? path.substring(1) : path;
    if (trimmed.endsWith("/")) {
      trimmed = trimmed.substring(0, trimmed.length() - 1);
    }
    return trimmed.isEmpty() ? new String[0] : trimmed.split("/", -1);
  }

  private record Template(String text, String[] segments, boolean rest) {
    static Template parse(String text) {
      if (!text.startsWith("/")) {
        throw new IllegalArgumentException(text + " does not start with /");
      }
      String[] segments = split(text);
      boolean rest = segments.length > 0 && segments[segments.length - 1].equals("*");
      for (int i = 0; i < segments.length; i++) {
        String s = segments[i];
        if (s.equals("*") && i != segments.length - 1) {
          throw new IllegalArgumentException(text + " has * before its last segment");
        }
        if ((s.contains("{") || s.contains("}")) && !isParameter(s)) {
          throw new IllegalArgumentException(text + " has a malformed {parameter} segment: " + s);
        }
      }
      return new Template(text, segments, rest);
    }

    boolean matches(String[] path) {
      int fixed = rest ? segments.length - 1 : segments.length;
      if (rest ? path.length < fixed : path.length != fixed) {
        return false;
      }
      for (int i = 0; i < fixed; i++) {
        String s = segments[i];
        if (isParameter(s) ? path[i].isEmpty() : !s.equals(path[i])) {
          return false;
        }
      }
      return true;
    }

    private static boolean isParameter(String segment) {
      return segment.length() > 2
          && segment.charAt(0) == '{'
          && segment.charAt(segment.length() - 1) == '}'
          && segment.indexOf('{', 1) < 0
          && segment.indexOf('}') == segment.length() - 1;
    }
  }
}
