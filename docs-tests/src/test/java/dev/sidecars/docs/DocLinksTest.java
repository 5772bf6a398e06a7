package dev.sidecars.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every relative link in README.md, BENCHMARKS.md and docs/*.md leads somewhere: the file (or directory)
 * exists inside the repository, and an {@code #anchor} names a heading of the page it points to. And the
 * README's quick start runs the test command CI runs.
 */
class DocLinksTest {
  private static final Path ROOT = Path.of(System.getProperty("docs.root", "..")).toAbsolutePath().normalize();

  @Test
  void everyRelativeLinkAndAnchorResolves() throws IOException {
    List<String> broken = new ArrayList<>();
    for (Path page : pages()) {
      MarkdownPage markdown = MarkdownPage.read(page);
      for (MarkdownPage.Link link : markdown.links()) {
        String problem = problem(page, link.target());
        if (problem != null) {
          broken.add(ROOT.relativize(page) + ":" + link.line() + ": " + link.target() + ": " + problem);
        }
      }
    }
    assertThat(broken).as(String.join("\n", broken)).isEmpty();
  }

  @Test
  void theDocsAreThere() throws IOException {
    assertThat(pages()).extracting(p -> ROOT.relativize(p).toString().replace('\\', '/')).contains(
        "README.md", "BENCHMARKS.md", "docs/metrics-proxy.md", "docs/trace-injector.md", "docs/log-forwarder.md",
        "docs/collector-stub.md", "docs/kubernetes.md", "docs/operations.md", "docs/architecture.md",
        "docs/configuration.md");
  }

  /** The checker itself: a missing file, a missing anchor and a link out of the repository are each caught. */
  @Test
  void brokenLinksAreFound() {
    Path readme = ROOT.resolve("README.md");
    assertThat(problem(readme, "docs/no-such-page.md")).isEqualTo("no such file");
    assertThat(problem(readme, "docs/metrics-proxy.md#no-such-heading")).startsWith("no heading");
    assertThat(problem(readme, "#no-such-heading")).startsWith("no heading");
    assertThat(problem(readme, "../outside.md")).isEqualTo("outside the repository");
    assertThat(problem(readme, "docs/metrics-proxy.md")).isNull();
    assertThat(problem(readme, "https://example.org/")).isNull();
  }

  @Test
  void anchorsAreMadeAsGitHubMakesThem() {
    assertThat(MarkdownPage.slug("metrics-proxy (ingress)")).isEqualTo("metrics-proxy-ingress");
    assertThat(MarkdownPage.slug("Query API (on `UI_PORT`, JSON)")).isEqualTo("query-api-on-ui_port-json");
    assertThat(MarkdownPage.slug("Left out / known limits")).isEqualTo("left-out--known-limits");
    assertThat(MarkdownPage.slug("See [the chart](kubernetes.md)")).isEqualTo("see-the-chart");
  }

  /** The quick start's test command is, to the character, the one {@code .ci/run} runs. */
  @Test
  void quickStartRunsTheTestCommandCiRuns() throws IOException {
    List<String> ciCommands = Files.readAllLines(ROOT.resolve(".ci/run")).stream()
        .map(String::trim).filter(line -> line.startsWith("mvn ")).toList();
    List<String> quickStart = MarkdownPage.codeLines(MarkdownPage.read(ROOT.resolve("README.md")).section("Quick start")
            .orElseThrow(() -> new AssertionError("README.md has no \"Quick start\" heading")))
        .stream().map(line -> line.replaceAll("\\s+#.*$", "").trim()).toList();

    assertThat(ciCommands).isNotEmpty();
    assertThat(quickStart).containsAll(ciCommands);
  }

  /** Null when the link resolves; otherwise why not. */
  private static String problem(Path page, String target) {
    if (target.isEmpty() || target.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*")) {
      return null; // http:, https:, mailto:: not ours to check here
    }
    int hash = target.indexOf('#');
    String path = hash < 0 ? target : target.substring(0, hash);
    String anchor = hash < 0 ? null : target.substring(hash + 1);
    Path resolved = path.isEmpty() ? page : page.getParent().resolve(path).normalize();
    if (!resolved.startsWith(ROOT)) {
      return "outside the repository";
    }
    if (!Files.exists(resolved)) {
      return "no such file";
    }
    if (anchor != null) {
      if (!resolved.toString().endsWith(".md")) {
        return "an anchor into a file that is not Markdown";
      }
      if (!MarkdownPage.read(resolved).anchors().contains(anchor)) {
        return "no heading with the anchor #" + anchor + " in " + ROOT.relativize(resolved);
      }
    }
    return null;
  }

  private static List<Path> pages() throws IOException {
    List<Path> pages = new ArrayList<>(List.of(ROOT.resolve("README.md"), ROOT.resolve("BENCHMARKS.md")));
    try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
    }
    return pages;
  }
}
