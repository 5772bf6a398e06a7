package dev.sidecars.logforwarder.checkpoint;

/**
 * A committed read position as stored on disk: the content's fingerprint (its length and SHA-256), the
 * offset up to which the collector accepted every line, the path it was read from, and the file's size
 * when the position was saved (what would be lost if the file is gone at the next start).
 */
public record Checkpoint(int fingerprintLength, String fingerprintSha256, long offset, String path, long size) {}
