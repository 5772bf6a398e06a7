package dev.sidecars.logforwarder.tail;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Expands {@code LOG_PATHS} globs ({@code *}, {@code ?}, {@code [..]}, {@code {a,b}}, and {@code **} across
 * directories) minus {@code LOG_EXCLUDE}, walking only below each glob's fixed leading directories.
 */
final class LogPaths {
  /** A regular file a glob matched, with its identity in the file system (device and inode). */
  record Found(Path path, Object fileKey, long size) {}

  private record Include(Path base, int depth, List<PathMatcher> matchers) {}

  private final List<Include> includes = new ArrayList<>();
  private final List<PathMatcher> excludes = new ArrayList<>();

  LogPaths(List<String> includeGlobs, List<String> excludeGlobs) {
    FileSystem fs = FileSystems.getDefault();
    for (String glob : includeGlobs) {
      List<PathMatcher> matchers = new ArrayList<>();
      matchers.add(fs.getPathMatcher("glob:" + glob));
      if (glob.contains("/**/")) {
        // "**" in Java globs needs at least one directory; users expect "a/**/x" to match "a/x" too.
        matchers.add(fs.getPathMatcher("glob:" + glob.replace("/**/", "/")));
      }
      String[] parts = glob.split("/");
      StringBuilder base = new StringBuilder();
      int fixed = 0;
      for (String part : parts) {
        if (part.matches(".*[*?\\[{].*")) {
          break;
        }
        base.append(part).append('/');
        fixed++;
      }
      int depth = glob.contains("**") ? Integer.MAX_VALUE : Math.max(0, parts.length - fixed);
      includes.add(new Include(Path.of(base.length() == 0 ? "/" : base.toString()), depth, matchers));
    }
    for (String glob : excludeGlobs) {
      // A glob without a directory part excludes by file name anywhere.
      excludes.add(fs.getPathMatcher("glob:" + (glob.contains("/") ? glob : "**/" + glob)));
    }
  }

  /** Every matching regular file, by file key (two globs or links to one file give one entry). */
  Map<Object, Found> scan() {
    return scan(new LinkedHashSet<>());
  }

  /**
   * Every matching regular file, by file key; adds to {@code directories} each existing directory in
   * which a matching file could appear (those to watch for new files).
   */
  Map<Object, Found> scan(Set<Path> directories) {
    Map<Object, Found> found = new LinkedHashMap<>();
    for (Include include : includes) {
      if (include.depth() == 0) {
        Path parent = include.base().getParent();
        if (parent != null && Files.isDirectory(parent)) {
          directories.add(parent);
        }
        consider(include.base(), include, found);
        continue;
      }
      if (!Files.isDirectory(include.base())) {
        continue;
      }
      try {
        Files.walkFileTree(include.base(), EnumSet.of(FileVisitOption.FOLLOW_LINKS), include.depth(),
            new SimpleFileVisitor<>() {
              @Override
              public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                directories.add(dir); // below the walk's depth limit: its files can match
                return FileVisitResult.CONTINUE;
              }

              @Override
              public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile()) {
                  consider(file, attrs, include, found);
                }
                return FileVisitResult.CONTINUE;
              }

              @Override
              public FileVisitResult visitFileFailed(Path file, IOException e) {
                return FileVisitResult.CONTINUE; // vanished or unreadable: the next scan sees
              }
            });
      } catch (IOException e) {
        // the base went away between the check and the walk; the next scan sees
      }
    }
    return found;
  }

  /** The regular file at {@code path}, if a glob matches it and no exclusion does. */
  Optional<Found> match(Path path) {
    Map<Object, Found> found = new LinkedHashMap<>(1);
    for (Include include : includes) {
      consider(path, include, found);
    }
    return found.values().stream().findFirst();
  }

  /**
   * Whether a directory created at {@code dir} can hold matching files (a {@code **} glob, or one with
   * wildcards in its directories): it is then watched and walked.
   */
  boolean mayHoldMatches(Path dir) {
    for (Include include : includes) {
      if (include.depth() > 1 && dir.startsWith(include.base())
          && include.base().relativize(dir).getNameCount() < include.depth()) {
        return true;
      }
    }
    return false;
  }

  private void consider(Path path, Include include, Map<Object, Found> found) {
    try {
      BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
      if (attrs.isRegularFile()) {
        consider(path, attrs, include, found);
      }
    } catch (IOException e) {
      // not there (yet)
    }
  }

  private void consider(Path path, BasicFileAttributes attrs, Include include, Map<Object, Found> found) {
    if (include.matchers().stream().noneMatch(m -> m.matches(path)) || excludes.stream().anyMatch(m -> m.matches(path))) {
      return;
    }
    Object key = attrs.fileKey() != null ? attrs.fileKey() : path;
    found.putIfAbsent(key, new Found(path, key, attrs.size()));
  }

  /** The file key (device and inode) of {@code path}, or null when it cannot be read. */
  static Object fileKey(Path path) {
    try {
      BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
      return attrs.fileKey() != null ? attrs.fileKey() : path;
    } catch (IOException e) {
      return null;
    }
  }
}
