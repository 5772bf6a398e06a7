package dev.sidecars.logforwarder;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** The warnings one class logs while a test runs (add after the sidecar started: starting configures logging anew). */
public final class WarningCapture extends Handler implements AutoCloseable {
  private final Logger logger;
  private final List<String> warnings = new CopyOnWriteArrayList<>();

  private WarningCapture(Logger logger) {
    this.logger = logger;
  }

  /** Starts capturing what {@code source}'s logger warns about. */
  public static WarningCapture of(Class<?> source) {
    WarningCapture capture = new WarningCapture(Logger.getLogger(source.getName()));
    capture.logger.addHandler(capture);
    return capture;
  }

  public List<String> warnings() {
    return warnings;
  }

  @Override
  public void publish(LogRecord record) {
    if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
      warnings.add(record.getMessage());
    }
  }

  @Override
  public void flush() {}

  @Override
  public void close() {
    logger.removeHandler(this);
  }
}
