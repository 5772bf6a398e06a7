package dev.sidecars.demo.launch;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How to run one process of the topology and how to tell it is up: the line it prints once listening (from
 * which its ports are read, {@code name=port} pairs) and, optionally, a path on one of those ports that must
 * answer 200 before the processes that depend on it start.
 *
 * @param env the whole environment of the process besides {@code PATH} and {@code HOME}: nothing leaks in
 *     from the launcher's own
 */
public record ProcessSpec(
    String name,
    Stage stage,
    List<String> command,
    Map<String, String> env,
    Pattern startLine,
    Optional<ReadyCheck> readyCheck,
    Duration startTimeout) {

  /** The line every component of the suite prints once its ports are open. */
  public static final Pattern LISTENING = Pattern.compile(".* listening on .*");

  /** An HTTP path that answers 200 once the process can do its job, e.g. {@code /readyz} on {@code admin}. */
  public record ReadyCheck(String port, String path) {}

  public ProcessSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(stage, "stage");
    command = List.copyOf(command);
    env = Map.copyOf(env);
    Objects.requireNonNull(startLine, "startLine");
    Objects.requireNonNull(readyCheck, "readyCheck");
    Objects.requireNonNull(startTimeout, "startTimeout");
  }

  /** Up once it prints its {@link #LISTENING} line; within 60 seconds. */
  public static ProcessSpec of(String name, Stage stage, List<String> command, Map<String, String> env) {
    return new ProcessSpec(name, stage, command, env, LISTENING, Optional.empty(), Duration.ofSeconds(60));
  }

  public ProcessSpec readyWhen(String port, String path) {
    return new ProcessSpec(name, stage, command, env, startLine, Optional.of(new ReadyCheck(port, path)),
        startTimeout);
  }

  public ProcessSpec startLine(Pattern pattern) {
    return new ProcessSpec(name, stage, command, env, pattern, readyCheck, startTimeout);
  }

  public ProcessSpec startTimeout(Duration timeout) {
    return new ProcessSpec(name, stage, command, env, startLine, readyCheck, timeout);
  }

  /** The same process with some variables changed, e.g. to restart it on the port it had. */
  public ProcessSpec withEnv(Map<String, String> changes) {
    Map<String, String> merged = new java.util.LinkedHashMap<>(env);
    merged.putAll(changes);
    return new ProcessSpec(name, stage, command, merged, startLine, readyCheck, startTimeout);
  }
}
