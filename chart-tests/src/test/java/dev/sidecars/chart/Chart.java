package dev.sidecars.chart;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The chart under test, rendered by Helm's own engine (helm-java, no helm binary). Values are given as YAML
 * text, exactly as a user's values file, and layered over the chart's defaults.
 */
final class Chart {
  static final String RELEASE = "demo";
  static final String FULLNAME = "demo-sidecar-suite";
  static final String NAMESPACE = "shop";

  private final Path dir;
  private final Path scratch;

  Chart(Path dir, Path scratch) {
    this.dir = dir;
    this.scratch = scratch;
  }

  /** The chart directory named by the {@code chart.dir} system property (set by the build). */
  static Path directory() {
    String dir = System.getProperty("chart.dir");
    if (dir == null) {
      throw new IllegalStateException("system property chart.dir is not set (run the tests through Maven)");
    }
    return Path.of(dir).toAbsolutePath().normalize();
  }

  Path dir() {
    return dir;
  }

  RenderedChart render(String valuesYaml) {
    return RenderedChart.parse(template(valuesYaml));
  }

  /** The raw output of {@code helm template}; throws with Helm's message when the values are refused. */
  String template(String valuesYaml) {
    try {
      Path values = Files.createTempFile(scratch, "values", ".yaml");
      Files.writeString(values, valuesYaml);
      return new Helm(dir).template().withName(RELEASE).withNamespace(NAMESPACE).withKubeVersion("1.30.0").withValuesFile(values).call();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What {@code helm install} prints (NOTES.txt included), from a client-only dry run: no cluster needed. */
  String installOutput(String valuesYaml) {
    try {
      Path values = Files.createTempFile(scratch, "values", ".yaml");
      Files.writeString(values, valuesYaml);
      return new Helm(dir).install().withName(RELEASE).withNamespace(NAMESPACE).withKubeVersion("1.30.0")
          .clientOnly().dryRun().withValuesFile(values).call().getOutput();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  LintResult lint() {
    return new Helm(dir).lint().strict().call();
  }
}
