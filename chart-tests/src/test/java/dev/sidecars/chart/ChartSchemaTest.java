package dev.sidecars.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.LintResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The chart's metadata and its values schema: lint passes, wrong values are refused by name. */
class ChartSchemaTest {
  @TempDir Path scratch;
  private Chart chart;

  @BeforeEach
  void setUp() {
    chart = new Chart(Chart.directory(), scratch);
  }

  @Test
  void lintPassesStrictly() {
    LintResult result = chart.lint();
    assertThat(result.isFailed()).as(String.join("\n", result.getMessages())).isFalse();
    assertThat(result.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
  }

  @Test
  void chartVersionAndAppVersionFollowTheMavenProjectVersion() throws Exception {
    String chartYaml = Files.readString(chart.dir().resolve("Chart.yaml"));
    String projectVersion = System.getProperty("project.version");
    assertThat(field(chartYaml, "version")).isEqualTo(projectVersion);
    assertThat(field(chartYaml, "appVersion")).isEqualTo(projectVersion);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          sidecarMode: sidecar                              | at '/sidecarMode'
          metricProxy: {enabled: true}                      | 'metricProxy' not allowed
          metricsProxy: {proxyPort: 70000}                  | at '/metricsProxy/proxyPort'
          metricsProxy: {enabled: "yes"}                    | at '/metricsProxy/enabled'
          metricsProxy: {upstreamTimeout: soon}             | at '/metricsProxy/upstreamTimeout'
          metricsProxy: {routes: [orders]}                  | at '/metricsProxy/routes/0'
          shutdownGrace: 20 seconds                         | at '/shutdownGrace'
          logForwarder: {startAt: middle}                   | at '/logForwarder/startAt'
          logForwarder: {maxLineBytes: 10}                  | at '/logForwarder/maxLineBytes'
          traceInjector: {upstreams: {ledger: ftp://x}}     | at '/traceInjector/upstreams/ledger'
          app: {logDir: logs}                               | at '/app/logDir'
          app: {image: {repository: ''}}                    | at '/app/image/repository'
          otlpEndpoint: collector:4318                      | at '/otlpEndpoint'
          propagators: w3c                                  | at '/propagators'
          metricsProxy: {tls: {mode: strict}}               | at '/metricsProxy/tls/mode'
          traceInjector: {upstreamTls: yes}                 | at '/traceInjector/upstreamTls'
          tls: {certManager: {privateKeyAlgorithm: DSA}}    | at '/tls/certManager/privateKeyAlgorithm'
          """)
  void wrongValuesAreRefusedNamingTheKey(String values, String where) {
    assertThatThrownBy(() -> chart.template(values))
        .hasMessageContaining("values don't meet the specifications of the schema")
        .hasMessageContaining(where);
  }

  @Test
  void strictParsingRefusesFieldsTheKubernetesApiDoesNotKnow() {
    String manifest =
        """
        apiVersion: v1
        kind: Service
        metadata: {name: x}
        spec:
          ports: [{port: 80, targetPot: http}]
        """;
    assertThatThrownBy(() -> RenderedChart.parse(manifest))
        .hasMessageContaining("targetPot")
        .hasMessageContaining("Service/x.spec.ports[0]");
  }

  private static String field(String yaml, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + ":\\s*\"?([^\"\\s]+)\"?\\s*$").matcher(yaml);
    assertThat(m.find()).as(name + " in Chart.yaml").isTrue();
    return m.group(1);
  }
}
