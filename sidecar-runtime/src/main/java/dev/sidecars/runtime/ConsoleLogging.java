package dev.sidecars.runtime;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * A component's own log: one line per record on stderr, so stdout stays for the start line and access
 * logs. {@code LOG_LEVEL} picks the level; the libraries below us only speak at warning and above unless
 * asked for debug.
 */
public final class ConsoleLogging {
  // io.netty: the data plane and admin port; its HTTP/2 codec logs a line at INFO per frame of a reset
  // stream. org.xnio, io.undertow, org.jboss: the collector-stub's server.
  private static final String[] CHATTY = {"org.xnio", "io.undertow", "org.jboss", "io.netty", "io.grpc.netty"};
  /**
   * The SDK's OTLP exporters: their failures are reported by the runtime instead, once, naming the endpoint
   * (see {@code ExportFailureLog}); their own lines come back with {@code LOG_LEVEL=debug}.
   */
  private static final String[] REPORTED_BY_US = {"io.opentelemetry.exporter.otlp.internal"};
  /** java.util.logging keeps loggers weakly: one collected and made again has forgotten its level. */
  private static final List<Logger> CONFIGURED = new CopyOnWriteArrayList<>();
  private static volatile Level threshold = Level.INFO;

  private ConsoleLogging() {}

  /** The accepted words for {@code LOG_LEVEL}. */
  public static final String[] LEVELS = {"trace", "debug", "info", "warn", "error"};

  public static void configure(String level) {
    Level jul = toJul(level);
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    Handler handler = new StderrHandler();
    handler.setLevel(Level.ALL);
    handler.setFormatter(new OneLine());
    root.addHandler(handler);
    root.setLevel(jul);
    threshold = jul;
    boolean debug = jul.intValue() <= Level.FINE.intValue();
    CONFIGURED.clear();
    for (String name : CHATTY) {
      configure(name, debug ? jul : Level.WARNING);
    }
    for (String name : REPORTED_BY_US) {
      configure(name, debug ? jul : Level.OFF);
    }
  }

  private static void configure(String name, Level level) {
    Logger logger = Logger.getLogger(name);
    logger.setLevel(level);
    CONFIGURED.add(logger);
  }

  /**
   * Writes one line in the same format straight to standard error, when {@code level} passes {@code
   * LOG_LEVEL}. For the stop sequence: once the JVM begins to shut down, its LogManager removes every handler,
   * so what is logged then through java.util.logging is lost.
   */
  public static void print(Level level, String source, String message) {
    if (level.intValue() < threshold.intValue()) {
      return;
    }
    LogRecord record = new LogRecord(level, message);
    record.setLoggerName(source);
    System.err.print(new OneLine().format(record));
    System.err.flush();
  }

  static Level toJul(String level) {
    return switch (level.toLowerCase(Locale.ROOT)) {
      case "trace" -> Level.FINEST;
      case "debug" -> Level.FINE;
      case "warn" -> Level.WARNING;
      case "error" -> Level.SEVERE;
      default -> Level.INFO;
    };
  }

  /**
   * ConsoleHandler already writes to System.err, flushes every record, and only flushes on close.
   * Replacing its stream with setOutputStream would close the old one, and with it System.err.
   */
  private static final class StderrHandler extends ConsoleHandler {}

  private static final class OneLine extends Formatter {
    @Override
    public String format(LogRecord record) {
      StringBuilder line =
          new StringBuilder(160)
              .append(Instant.ofEpochMilli(record.getMillis()))
              .append(' ')
              .append(levelName(record.getLevel()))
              .append(' ')
              .append(shortName(record.getLoggerName()))
              .append(": ")
              .append(formatMessage(record).replace('\n', ' '));
      if (record.getThrown() != null) {
        line.append(" (").append(record.getThrown()).append(')');
      }
      return line.append(System.lineSeparator()).toString();
    }

    private static String levelName(Level level) {
      if (level.intValue() >= Level.SEVERE.intValue()) {
        return "ERROR";
      }
      if (level.intValue() >= Level.WARNING.intValue()) {
        return "WARN";
      }
      if (level.intValue() >= Level.INFO.intValue()) {
        return "INFO";
      }
      return level.intValue() >= Level.FINE.intValue() ? "DEBUG" : "TRACE";
    }

    private static String shortName(String logger) {
      if (logger == null) {
        return "-";
      }
      int dot = logger.lastIndexOf('.');
      return dot < 0 ? logger : logger.substring(dot + 1);
    }
  }
}
