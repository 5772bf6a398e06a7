package dev.sidecars.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.collector.CollectorStubConfig;
import dev.sidecars.demo.DemoSettings;
import dev.sidecars.logforwarder.LogForwarderMain;
import dev.sidecars.metricsproxy.MetricsProxyMain;
import dev.sidecars.runtime.SidecarSettings;
import dev.sidecars.runtime.config.Settings;
import dev.sidecars.runtime.telemetry.SidecarTelemetry;
import dev.sidecars.traceinjector.TraceInjector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One source of truth for the variables: the table under "Variables" in each component's page in {@code
 * docs/} lists exactly the variables its configuration code reads, so a variable added to the code without
 * documentation fails the build, and so does a documented one the code no longer reads.
 *
 * <p>The names read come from the code itself: each configuration reads all its variables up front
 * through {@link Settings}, which records them ({@link Settings#namesRead()}). The variables the runtime
 * reads for every sidecar ({@link SidecarSettings}, {@link SidecarTelemetry#variables()}) live in one
 * shared table in {@code docs/configuration.md}, which the sidecars' pages link to; a sidecar's own table
 * may repeat one of them (its {@code ADMIN_PORT} default, say). {@code OTEL_*} variables go to the
 * OpenTelemetry SDK as a family ({@link SidecarTelemetry#SDK_VARIABLE_PREFIX}), so any of them may be
 * documented for a sidecar; one that the runtime also reads itself ({@code OTEL_PROPAGATORS}, read by
 * {@link SidecarSettings}) must be documented.
 *
 * <p>Each table has one row per variable, its first cell the name in backticks and nothing else, and the
 * columns {@value #COLUMNS}.
 */
class VariableTablesTest {
  private static final Path ROOT = Path.of(System.getProperty("docs.root", "..")).toAbsolutePath().normalize();
  private static final String SECTION = "Variables";
  static final String COLUMNS = "variable | default | accepted values | meaning";
  private static final String SHARED_PAGE = "docs/configuration.md";

  @Test
  void sharedTableListsWhatTheRuntimeReadsForEverySidecar() {
    Set<String> read = sharedRead();
    Set<String> documented = documented(SHARED_PAGE);
    List<String> problems = new ArrayList<>();
    for (String name : read) {
      if (!documented.contains(name)) {
        problems.add(name + " is read by the sidecar runtime (SidecarSettings, SidecarTelemetry) but not documented in "
            + SHARED_PAGE);
      }
    }
    for (String name : documented) {
      if (!read.contains(name) && !name.startsWith(SidecarTelemetry.SDK_VARIABLE_PREFIX)) {
        problems.add(name + " is documented in " + SHARED_PAGE + " but read by neither SidecarSettings nor SidecarTelemetry");
      }
    }
    assertThat(problems).as(String.join("\n", problems)).isEmpty();
  }

  @Test
  void metricsProxyTableListsWhatMetricsProxyConfigReads() {
    checkSidecar("docs/metrics-proxy.md", "MetricsProxyConfig", s -> new MetricsProxyMain().configure(s));
  }

  @Test
  void traceInjectorTableListsWhatTraceInjectorConfigReads() {
    checkSidecar("docs/trace-injector.md", "TraceInjectorConfig", s -> new TraceInjector().configure(s));
  }

  @Test
  void logForwarderTableListsWhatLogForwarderConfigReads() {
    checkSidecar("docs/log-forwarder.md", "LogForwarderConfig", s -> new LogForwarderMain().configure(s));
  }

  @Test
  void collectorStubTableListsWhatCollectorStubConfigReads() {
    check("docs/collector-stub.md", "CollectorStubConfig", read(CollectorStubConfig::from), Set.of());
  }

  @Test
  void demoTableListsWhatDemoSettingsReads(@TempDir Path home) {
    check("docs/demo.md", "DemoSettings", read(s -> DemoSettings.from(s, home, Map.of())), Set.of());
  }

  /** The checker itself: both directions, and one message per variable naming the page and the code. */
  @Test
  void aVariableMissingOnEitherSideIsNamedWithThePageAndTheCode() {
    List<String> problems = problems("docs/metrics-proxy.md", "MetricsProxyConfig",
        Set.of("VAR_X", "PROXY_PORT"), Set.of("PROXY_PORT", "VAR_Y"), Set.of(), Set.of());

    assertThat(problems).containsExactly(
        "VAR_X is read by MetricsProxyConfig but not documented in docs/metrics-proxy.md",
        "VAR_Y is documented in docs/metrics-proxy.md but not read by MetricsProxyConfig");
  }

  private static void checkSidecar(String page, String code, Consumer<Settings> configure) {
    Set<String> shared = sharedRead();
    Set<String> documentedShared = documented(SHARED_PAGE);
    check(page, code, read(configure), union(shared, documentedShared));
  }

  /**
   * {@code alsoAllowed}: names a sidecar's table may show though its own code does not read them (the shared
   * ones), and that count as documented when the shared table has them.
   */
  private static void check(String page, String code, Set<String> read, Set<String> alsoAllowed) {
    Set<String> documented = documented(page);
    Set<String> sharedDocumented = alsoAllowed.isEmpty() ? Set.of() : documented(SHARED_PAGE);
    List<String> problems = problems(page, code, read, documented, alsoAllowed, sharedDocumented);
    assertThat(problems).as(String.join("\n", problems)).isEmpty();
  }

  private static List<String> problems(String page, String code, Set<String> read, Set<String> documented,
      Set<String> alsoAllowed, Set<String> sharedDocumented) {
    boolean sidecar = !alsoAllowed.isEmpty();
    List<String> problems = new ArrayList<>();
    for (String name : read) {
      if (!documented.contains(name) && !sharedDocumented.contains(name)) {
        problems.add(name + " is read by " + code + " but not documented in " + page
            + (sidecar ? " (nor in " + SHARED_PAGE + ")" : ""));
      }
    }
    for (String name : documented) {
      boolean fromSdk = sidecar && name.startsWith(SidecarTelemetry.SDK_VARIABLE_PREFIX);
      if (!read.contains(name) && !alsoAllowed.contains(name) && !fromSdk) {
        problems.add(name + " is documented in " + page + " but not read by " + code
            + (sidecar ? " (nor by the shared runtime)" : ""));
      }
    }
    return problems;
  }

  private static Set<String> sharedRead() {
    Settings settings = Settings.of(Map.of());
    SidecarSettings.from(settings, 0);
    return union(settings.namesRead(), SidecarTelemetry.variables());
  }

  private static Set<String> read(Consumer<Settings> configure) {
    Settings settings = Settings.of(Map.of());
    configure.accept(settings);
    return new TreeSet<>(settings.namesRead());
  }

  /** The names in the table under "Variables", checked for the table's shape. */
  private static Set<String> documented(String page) {
    MarkdownPage markdown = MarkdownPage.read(ROOT.resolve(page));
    List<String> section = markdown.section(SECTION)
        .orElseThrow(() -> new AssertionError(page + " has no \"" + SECTION + "\" heading"));
    MarkdownPage.Table table = MarkdownPage.firstTable(section)
        .orElseThrow(() -> new AssertionError(page + ": no table under \"" + SECTION + "\""));
    assertThat(String.join(" | ", table.header()))
        .as(page + ": the variable table's columns").isEqualTo(COLUMNS);
    Set<String> names = new LinkedHashSet<>();
    for (List<String> row : table.rows()) {
      String name = MarkdownPage.variableName(row.get(0)).orElseThrow(() -> new AssertionError(
          page + ": each row of the variable table names one variable, as `NAME`; found: " + row.get(0)));
      assertThat(names.add(name)).as(page + ": " + name + " has two rows").isTrue();
    }
    return names;
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> all = new TreeSet<>(a);
    all.addAll(b);
    return all;
  }
}
