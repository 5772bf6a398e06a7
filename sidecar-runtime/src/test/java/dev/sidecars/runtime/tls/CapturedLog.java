package dev.sidecars.runtime.tls;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** The records one class logs while a test runs, as {@code LEVEL message} lines. */
final class CapturedLog extends Handler implements AutoCloseable {
  private final Logger logger;
  private final List<String> lines = new CopyOnWriteArrayList<>();

  CapturedLog(Class<?> type) {
    logger = Logger.getLogger(type.getName());
    setLevel(Level.ALL);
    logger.addHandler(this);
  }

  List<String> lines() {
    return List.copyOf(lines);
  }

  List<String> at(Level level) {
    return lines.stream().filter(line -> line.startsWith(level.getName() + " ")).toList();
  }

  @Override
  public void publish(LogRecord record) {
    lines.add(record.getLevel().getName() + " " + record.getMessage());
  }

  @Override
  public void flush() {}

  @Override
  public void close() {
    logger.removeHandler(this);
  }
}
