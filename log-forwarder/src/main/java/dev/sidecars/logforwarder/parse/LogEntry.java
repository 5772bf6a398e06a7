package dev.sidecars.logforwarder.parse;

/**
 * One entry of a file as it was read, before it becomes a record: the reading thread makes these, and
 * {@link RecordFactory#record(LogEntry)} turns them into records on the encoding thread. A single line
 * keeps its bytes as read ({@code bytes}); an entry joined from several lines is text ({@code text}).
 *
 * @param text the entry's text (lines of a multiline entry joined with {@code \n}), or null
 * @param bytes the line's bytes as read, not yet checked as UTF-8, or null
 * @param truncated whether it was cut at {@code LOG_MAX_LINE_BYTES}
 * @param invalidUtf8 whether {@code text} had invalid UTF-8 bytes replaced by U+FFFD
 * @param fileAttributes the attributes of the file it was read from
 * @param observedEpochNanos when it was read
 */
public record LogEntry(
    String text,
    byte[] bytes,
    boolean truncated,
    boolean invalidUtf8,
    FileAttributes fileAttributes,
    long observedEpochNanos) {}
