package dev.sidecars.chart;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Command line for images/e2e.sh: renders the chart with a values file through the same engine and strict
 * model checks as the tests, and writes the documents of the given kinds (default Deployment and ConfigMap,
 * what {@code podman kube play} runs) to a file.
 *
 * <p>Usage: {@code RenderChart <values.yaml> <out.yaml> [Kind,Kind...] [--podman]}
 *
 * <p>{@code --podman}: podman's {@code kube play} (4.x) resolves only {@code metadata.name} and labels or
 * annotations in Downward-API {@code fieldRef}s, so the pod's namespace and node name are written in as
 * literal values (the release namespace and this host's name).
 */
public final class RenderChart {
  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");

  private RenderChart() {}

  static String literalFieldRef(String yaml, String fieldPath, String value) {
    Pattern fieldRef = Pattern.compile(
        "(?m)^(\\s+)valueFrom:\\n\\s+fieldRef:\\n\\s+fieldPath: " + Pattern.quote(fieldPath) + "\\s*$");
    return fieldRef.matcher(yaml).replaceAll(m -> m.group(1) + "value: \"" + value + "\"");
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: RenderChart <values.yaml> <out.yaml> [Kind,Kind...]");
      System.exit(2);
    }
    Set<String> kinds = Set.of((args.length > 2 ? args[2] : "Deployment,ConfigMap").split(","));
    boolean podman = List.of(args).contains("--podman");
    Path scratch = Files.createTempDirectory("render-chart");
    try {
      String text = new Chart(Chart.directory(), scratch).template(Files.readString(Path.of(args[0])));
      // Parsed for the strict model checks only; the text goes out as Helm rendered it.
      List<HasMetadata> resources = RenderedChart.parse(text).resources();
      String selected = DOCUMENT_SEPARATOR.splitAsStream(text)
          .filter(doc -> kinds.stream().anyMatch(k -> Pattern.compile("(?m)^kind:\\s*" + k + "\\s*$").matcher(doc).find()))
          .map(String::strip)
          .collect(Collectors.joining("\n---\n", "", "\n"));
      if (podman) {
        selected = literalFieldRef(selected, "metadata.namespace", Chart.NAMESPACE);
        selected = literalFieldRef(selected, "spec.nodeName", java.net.InetAddress.getLocalHost().getHostName());
      }
      Files.writeString(Path.of(args[1]), selected);
      System.err.println("rendered " + resources.size() + " resources, wrote " + kinds + " to " + args[1]);
    } finally {
      try (var files = Files.walk(scratch)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
