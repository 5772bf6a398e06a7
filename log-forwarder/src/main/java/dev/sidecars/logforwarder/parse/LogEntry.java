package dev.sidecars.logforwarder.parse;

import io.opentelemetry.proto.common.v1.KeyValue;
import java.util.List;

/**
 * One entry of a file as it was read, before it becomes a record: the reading thread makes these, and
 * {@link RecordFactory#create(LogEntry)} turns them into records on the encoding thread.
 *
 * @param text the entry's text (lines of a multiline entry joined with {@code \n})
 * @param truncated whether it was cut at {@code LOG_MAX_LINE_BYTES}
 * @param invalidUtf8 whether invalid UTF-8 bytes were replaced by U+FFFD
 * @param fileAttributes the attributes of the file it was read from
 * @param observedEpochNanos when it was read
 */
public record LogEntry(
    String text, boolean truncated, boolean invalidUtf8, List<KeyValue> fileAttributes, long observedEpochNanos) {}
