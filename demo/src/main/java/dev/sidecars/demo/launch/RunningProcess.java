package dev.sidecars.demo.launch;

import dev.sidecars.runtime.StartLine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** One started process of a {@link ProcessGroup}: its ports, as its start line gave them, and its output file. */
public final class RunningProcess {
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
    this.ports = StartLine.ports(startLine);
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
