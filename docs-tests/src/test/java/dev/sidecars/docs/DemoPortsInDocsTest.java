package dev.sidecars.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.demo.DemoSettings;
import dev.sidecars.demo.DemoTopology;
import dev.sidecars.demo.PortBlock;
import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ports the quick start and the tour send a reader to are the demo's: README.md lists exactly the ports
 * the launcher checks and listens on, and every {@code localhost:170NN} in README.md and docs/demo.md is one
 * of them, for the process the text says.
 */
class DemoPortsInDocsTest {
  private static final Path ROOT = Path.of(System.getProperty("docs.root", "..")).toAbsolutePath().normalize();
  private static final Pattern PORT_USE = Pattern.compile("(?:localhost|127\\.0\\.0\\.1)?:(17\\d\\d\\d)\\b");

  @TempDir Path home;

  private Map<Integer, String> demoPorts() {
    Map<Integer, String> owners = new LinkedHashMap<>();
    for (PortBlock.Port port : new DemoTopology(DemoSettings.from(Settings.of(Map.of()), home, Map.of())).fixedPorts()) {
      owners.put(port.number(), port.owner());
    }
    return owners;
  }

  @Test
  void theReadmeListsExactlyThePortsOfTheDemo() throws IOException {
    String readme = Files.readString(ROOT.resolve("README.md")).replaceAll("\\s+", " ");
    Matcher list = Pattern.compile("The demo uses ports 17000 to 17099 on loopback \\(([^)]*)\\)").matcher(readme);
    assertThat(list.find()).as("README.md says which ports the demo uses").isTrue();

    Set<Integer> listed = new TreeSet<>();
    Matcher range = Pattern.compile("(\\d{5})(?: to (\\d{5}))?").matcher(list.group(1));
    while (range.find()) {
      int from = Integer.parseInt(range.group(1));
      int to = range.group(2) == null ? from : Integer.parseInt(range.group(2));
      for (int port = from; port <= to; port++) {
        listed.add(port);
      }
    }
    assertThat(listed).isEqualTo(new TreeSet<>(demoPorts().keySet()));
  }

  @Test
  void everyDemoPortTheDocsSendAReaderToIsOneTheDemoListensOn() throws IOException {
    Map<Integer, String> ports = demoPorts();
    for (String page : new String[] {"README.md", "docs/demo.md"}) {
      Matcher use = PORT_USE.matcher(Files.readString(ROOT.resolve(page)));
      while (use.find()) {
        assertThat(ports).as("%s names port %s", page, use.group(1)).containsKey(Integer.parseInt(use.group(1)));
      }
    }
  }

  /** The tour's comments say whose admin port each scrape reads. */
  @Test
  void theTourNamesTheRightSidecarForEachAdminPort() throws IOException {
    Map<Integer, String> ports = demoPorts();
    Matcher scrape = Pattern.compile("curl -s localhost:(\\d+)/metrics .*# (.+)$", Pattern.MULTILINE)
        .matcher(Files.readString(ROOT.resolve("README.md")));
    int found = 0;
    while (scrape.find()) {
      found++;
      assertThat(ports.get(Integer.parseInt(scrape.group(1)))).isEqualTo(scrape.group(2).trim());
    }
    assertThat(found).isEqualTo(3);
  }
}
