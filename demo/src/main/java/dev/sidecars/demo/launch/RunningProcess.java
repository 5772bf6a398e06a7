package dev.sidecars.demo.launch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One started process of a {@link ProcessGroup}: its ports, as its start line gave them, and its output file. */
public final class RunningProcess {
  private static final Pattern PORT = Pattern.compile("([a-z][a-z0-9-]*)=(\\d+)");

  private final ProcessSpec spec;
  private final Process process;
  private final String startLine;
  private final Map<String, Integer> ports;
  private final Path output;

  RunningProcess(ProcessSpec spec, Process process, String startLine, Path output) {
    this.spec = spec;
    this.process = process;
    this.startLine = startLine;
    this.output = output;
    Map<String, Integer> found = new LinkedHashMap<>();
    int from = startLine.indexOf(" listening on ");
    Matcher m = PORT.matcher(from < 0 ? "" : startLine.substring(from));
    while (m.find()) {
      found.put(m.group(1), Integer.parseInt(m.group(2)));
    }
    this.ports = Collections.unmodifiableMap(found);
  }

  public String name() {
    return spec.name();
  }

  public ProcessSpec spec() {
    return spec;
  }

  public String startLine() {
    return startLine;
  }

  public Map<String, Integer> ports() {
    return ports;
  }

  /** The port named {@code name} in the start line, e.g. {@code admin}. */
  public int port(String name) {
    Integer port = ports.get(name);
    if (port == null) {
      throw new IllegalArgumentException(spec.name() + " has no port " + name + ": " + startLine);
    }
    return port;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  Process process() {
    return process;
  }

  /** Where its standard output and error go, one file. */
  public Path output() {
    return output;
  }

  /** Everything it printed so far. */
  public List<String> outputLines() {
    try {
      return Files.readAllLines(output, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
