package dev.sidecars.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run-local.sh} does what README.md and docs/demo.md say: it builds (with the documented Maven
 * command, saying what it does and showing a line per module) when a jar is missing, older than a source or
 * pom that goes into it, or when asked with {@code --build}, and otherwise starts the demo at once. The
 * script runs for real, in a copy of the checkout's layout, with {@code mvn} and {@code java} replaced by
 * scripts that record how they were called.
 */
class RunLocalScriptTest {
  private static final Path ROOT = Path.of(System.getProperty("docs.root", "..")).toAbsolutePath().normalize();
  private static final List<String> JARS = List.of("collector-stub", "metrics-proxy", "trace-injector",
      "log-forwarder", "demo");
  private static final Instant BUILT = Instant.parse("2026-01-02T00:00:00Z");

  @TempDir Path checkout;
  @TempDir Path bin;

  @BeforeEach
  void aBuiltCheckout() throws IOException {
    Files.copy(ROOT.resolve("run-local.sh"), checkout.resolve("run-local.sh"));
    executable(checkout.resolve("run-local.sh"));
    source("pom.xml");
    source("sidecar-runtime/pom.xml");
    source("sidecar-runtime/src/main/java/Runtime.java");
    source("sidecar-runtime/src/test/java/RuntimeTest.java");
    for (String module : JARS) {
      source(module + "/pom.xml");
      source(module + "/src/main/java/Main.java");
      Path jar = checkout.resolve(module + "/target/" + module + ".jar");
      Files.createDirectories(jar.getParent());
      Files.writeString(jar, "jar");
      Files.setLastModifiedTime(jar, FileTime.from(BUILT));
    }
    // Maven as the script sees it: a module line per module, a download, colour codes, then the jars.
    Files.writeString(bin.resolve("mvn"), """
        #!/bin/sh
        echo "$@" >> "$CALLS/mvn"
        printf '\\033[0m\\033[0m[INFO] Scanning for projects...\\n'
        echo "[INFO] Building Observability sidecar suite 0.1.0-SNAPSHOT                [1/8]"
        echo "Downloaded from central: https://repo.example/x.jar (1 kB at 1 kB/s)"
        echo "[INFO] Building collector-stub 0.1.0-SNAPSHOT                             [3/8]"
        echo "[INFO] Building jar: /somewhere/collector-stub-0.1.0-SNAPSHOT.jar"
        if [ -n "$FAIL" ]; then echo "[ERROR] Failed to execute goal: compilation failure"; exit 3; fi
        echo "[INFO] BUILD SUCCESS"
        """);
    Files.writeString(bin.resolve("java"), """
        #!/bin/sh
        echo "$@" >> "$CALLS/java"
        """);
    executable(bin.resolve("mvn"));
    executable(bin.resolve("java"));
  }

  @Test
  void jarsNewerThanTheirSourcesStartTheDemoWithoutBuilding() throws Exception {
    Run run = run();

    assertThat(run.status).as(run.output).isZero();
    assertThat(run.mvnCalls).isEmpty();
    assertThat(run.javaCalls).singleElement().asString().endsWith("-jar demo/target/demo.jar");
    assertThat(run.output).isEmpty();
  }

  @Test
  void aSourceNewerThanTheJarsIsBuiltWithTheDocumentedCommandShowingProgress() throws Exception {
    Files.setLastModifiedTime(checkout.resolve("sidecar-runtime/src/main/java/Runtime.java"),
        FileTime.from(BUILT.plusSeconds(60)));

    Run run = run();

    assertThat(run.status).as(run.output).isZero();
    assertThat(run.mvnCalls).containsExactly(documentedBuildCommand().substring("mvn ".length()));
    assertThat(run.output)
        .contains("sidecar-runtime/src/main/java/Runtime.java is newer than")
        .contains("usually 1 to 2 minutes on 2 cores")
        .contains("[1/8] Observability sidecar suite")
        .contains("[3/8] collector-stub")
        .contains("downloading dependencies: 1 so far")
        .doesNotContain("\u001b")
        .doesNotContain("Building jar");
    assertThat(Files.readString(checkout.resolve("demo-run/build.log"))).contains("[INFO] BUILD SUCCESS");
    assertThat(run.javaCalls).hasSize(1);
  }

  @Test
  void aChangedPomOrAMissingJarIsBuiltButATestSourceIsNot() throws Exception {
    Files.setLastModifiedTime(checkout.resolve("sidecar-runtime/src/test/java/RuntimeTest.java"),
        FileTime.from(BUILT.plusSeconds(60)));
    assertThat(run().mvnCalls).as("a test source goes into no jar").isEmpty();

    Files.setLastModifiedTime(checkout.resolve("pom.xml"), FileTime.from(BUILT.plusSeconds(60)));
    assertThat(run().mvnCalls).hasSize(1);

    Files.setLastModifiedTime(checkout.resolve("pom.xml"), FileTime.from(BUILT.minusSeconds(60)));
    Files.delete(checkout.resolve("trace-injector/target/trace-injector.jar"));
    Run missing = run();
    assertThat(missing.mvnCalls).hasSize(1);
    assertThat(missing.output).contains("trace-injector/target/trace-injector.jar is missing");
  }

  @Test
  void buildForcesABuildAndHelpListsIt() throws Exception {
    assertThat(run("--build").mvnCalls).hasSize(1);

    Run help = run("--help");
    assertThat(help.status).isZero();
    assertThat(help.output).contains("--build");
    assertThat(help.javaCalls).isEmpty();

    Run unknown = run("--bild");
    assertThat(unknown.status).isEqualTo(2);
    assertThat(unknown.output).contains("unknown option --bild");
  }

  @Test
  void aFailedBuildShowsMavensErrorsAndStartsNothing() throws Exception {
    Run run = run(Map.of("FAIL", "1"), "--build");

    assertThat(run.status).isEqualTo(3);
    assertThat(run.output).contains("[ERROR] Failed to execute goal").contains("the build failed (mvn exit 3)");
    assertThat(run.javaCalls).isEmpty();
  }

  /** The build command docs/demo.md quotes, one line, as the reader would type it. */
  private static String documentedBuildCommand() throws IOException {
    String page = String.join(" ", Files.readAllLines(ROOT.resolve("docs/demo.md"))).replaceAll("\\s+", " ");
    Matcher m = Pattern.compile("`(mvn -B -Dmaven\\.test\\.skip=true [^`]*)`").matcher(page);
    assertThat(m.find()).as("docs/demo.md quotes run-local.sh's build command").isTrue();
    return m.group(1);
  }

  private record Run(int status, String output, List<String> mvnCalls, List<String> javaCalls) {}

  private Run run(String... args) throws Exception {
    return run(Map.of(), args);
  }

  private Run run(Map<String, String> env, String... args) throws Exception {
    Path calls = Files.createTempDirectory(bin, "calls");
    List<String> command = new ArrayList<>(List.of("bash", checkout.resolve("run-local.sh").toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(checkout.toFile()).redirectErrorStream(true);
    builder.environment().put("PATH", bin + ":/usr/bin:/bin");
    builder.environment().put("CALLS", calls.toString());
    builder.environment().remove("DEMO_DIR");
    builder.environment().putAll(env);
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(process.exitValue(), output, lines(calls.resolve("mvn")), lines(calls.resolve("java")));
  }

  private static List<String> lines(Path file) throws IOException {
    return Files.exists(file) ? Files.readAllLines(file) : List.of();
  }

  private void source(String path) throws IOException {
    Path file = checkout.resolve(path);
    Files.createDirectories(file.getParent());
    Files.writeString(file, "source");
    Files.setLastModifiedTime(file, FileTime.from(BUILT.minusSeconds(3600)));
  }

  private static void executable(Path file) throws IOException {
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
