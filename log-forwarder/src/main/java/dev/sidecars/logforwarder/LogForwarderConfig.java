package dev.sidecars.logforwarder;

import dev.sidecars.logforwarder.parse.LineFormat;
import dev.sidecars.runtime.config.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Everything the log-forwarder reads from its environment, read once and validated together with the
 * shared variables.
 *
 * @param paths globs of the files to tail ({@code LOG_PATHS})
 * @param excludes globs of files never to tail ({@code LOG_EXCLUDE})
 * @param stateDir where checkpoints live; empty keeps them in memory only
 * @param startAtEnd whether files seen at the first scan start at their end
 * @param format how a line becomes a record
 * @param multilineStart the pattern that starts a new entry, if entries span lines
 * @param maxLineBytes the longest entry shipped whole; longer ones are cut and marked
 * @param fingerprintBytes how many leading bytes identify a file
 * @param pollInterval how long to wait when no file has new bytes
 * @param rescanInterval how often the globs are expanded again
 * @param flushAfter quiet time after which a partial line or a pending multiline entry is shipped
 * @param rotateWait how long a file that left the globs (renamed, deleted) is still followed after its end
 * @param maxOpenFiles the most file handles held at once; a deleted file not yet read to its end is given up
 *     (its unread bytes counted as lost) only when a new file needs its handle
 * @param batchRecords the most records in one export
 * @param batchBytes the most line bytes in one export
 * @param batchDelay how long a partly filled batch waits for more records
 * @param queuedBatches batches waiting for the exporter before reading pauses
 * @param exportsInFlight batches sent at once (their positions are still committed in order)
 * @param retryInitial first back-off after a failed export
 * @param retryMax longest back-off
 */
public record LogForwarderConfig(
    List<String> paths,
    List<String> excludes,
    Optional<Path> stateDir,
    boolean startAtEnd,
    LineFormat format,
    Optional<Pattern> multilineStart,
    int maxLineBytes,
    int fingerprintBytes,
    Duration pollInterval,
    Duration rescanInterval,
    Duration flushAfter,
    Duration rotateWait,
    int maxOpenFiles,
    int batchRecords,
    long batchBytes,
    Duration batchDelay,
    int queuedBatches,
    int exportsInFlight,
    Duration retryInitial,
    Duration retryMax) {

  /** Reads every {@code LOG_*} variable; problems go to {@code settings}. */
  public static LogForwarderConfig from(Settings settings) {
    List<String> paths = settings.list("LOG_PATHS");
    if (paths.isEmpty()) {
      settings.problem("LOG_PATHS", "", "one or more comma-separated absolute globs, such as /var/log/app/*.log");
    }
    for (String glob : paths) {
      if (!Path.of(glob.replace("*", "x").replace("?", "x")).isAbsolute()) {
        settings.problem("LOG_PATHS", glob, "absolute globs, such as /var/log/app/*.log");
      }
    }
    List<String> excludes = settings.list("LOG_EXCLUDE");
    Optional<Path> stateDir = settings.optional("LOG_STATE_DIR").map(Path::of);
    stateDir.ifPresent(dir -> {
      try {
        Files.createDirectories(dir);
        if (!Files.isWritable(dir)) {
          settings.problem("LOG_STATE_DIR", dir.toString(), "a writable directory");
        }
      } catch (IOException | RuntimeException e) {
        settings.problem("LOG_STATE_DIR", dir.toString(), "a writable directory (" + e.getMessage() + ")");
      }
    });
    boolean startAtEnd = settings.oneOf("LOG_START_AT", "beginning", "beginning", "end").equals("end");
    LineFormat format = LineFormat.from(settings);
    Optional<Pattern> multiline = settings.regex("LOG_MULTILINE_START");
    int maxLineBytes = (int) Math.min(Integer.MAX_VALUE - 16, settings.bytes("LOG_MAX_LINE_BYTES", 65536, 16));
    int fingerprintBytes = (int) Math.min(65536, settings.bytes("LOG_FINGERPRINT_BYTES", 1024, 16));
    return new LogForwarderConfig(
        paths,
        excludes,
        stateDir,
        startAtEnd,
        format,
        multiline,
        maxLineBytes,
        fingerprintBytes,
        settings.duration("LOG_POLL_INTERVAL", Duration.ofMillis(200)),
        settings.duration("LOG_RESCAN_INTERVAL", Duration.ofSeconds(1)),
        settings.duration("LOG_FLUSH_AFTER", Duration.ofMillis(500)),
        settings.duration("LOG_ROTATE_WAIT", Duration.ofSeconds(5)),
        settings.integer("LOG_MAX_OPEN_FILES", 1024, 1, 100_000),
        settings.integer("LOG_BATCH_RECORDS", 8192, 1, 1_000_000),
        settings.bytes("LOG_BATCH_BYTES", 1L << 20, 1024),
        settings.duration("LOG_BATCH_DELAY", Duration.ofMillis(200)),
        settings.integer("LOG_QUEUED_BATCHES", 2, 1, 1000),
        settings.integer("LOG_EXPORTS_IN_FLIGHT", 2, 1, 64),
        settings.duration("LOG_RETRY_INITIAL", Duration.ofMillis(500)),
        settings.duration("LOG_RETRY_MAX", Duration.ofSeconds(30)));
  }
}
