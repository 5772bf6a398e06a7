package dev.sidecars.logforwarder.checkpoint;

/**
 * A committed read position as stored on disk: the content's fingerprint (its length and SHA-256) and
 * the offset up to which the collector accepted every line.
 */
public record Checkpoint(int fingerprintLength, String fingerprintSha256, long offset, String path) {}
