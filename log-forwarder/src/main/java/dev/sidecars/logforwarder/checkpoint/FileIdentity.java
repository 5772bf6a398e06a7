package dev.sidecars.logforwarder.checkpoint;

import dev.sidecars.logforwarder.parse.FileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One file's content, recognised by its first bytes (its fingerprint) rather than by path or inode, so a
 * renamed file, a copy and a reused inode are told apart. The tailer grows the fingerprint while the file
 * is shorter than the fingerprint size; the shipper advances {@link #committed()} once the collector
 * accepted the records up to that offset.
 */
public final class FileIdentity {
  private final AtomicLong committed;
  private final FileAttributes fileAttributes;
  private volatile Fingerprint fingerprint;
  private volatile String path;
  private volatile long size;
  private volatile long finalOffset = -1;

  public FileIdentity(byte[] fingerprint, long committed, String path, FileAttributes fileAttributes) {
    this.committed = new AtomicLong(committed);
    this.path = path;
    this.fileAttributes = fileAttributes;
    setFingerprint(fingerprint);
  }

  /** Whether {@code head} (the first bytes of some file) shows the same content: one is a prefix of the other. */
  public boolean sameContent(byte[] head) {
    return fingerprint.sameContent(head);
  }

  /** The fingerprint now: bytes and hash read together, never one from an older value. */
  public Fingerprint fingerprint() {
    return fingerprint;
  }

  /** Replaces a shorter fingerprint by a longer one of the same content. */
  public void setFingerprint(byte[] head) {
    this.fingerprint = Fingerprint.of(head);
  }

  /** The position to save: fingerprint, committed offset and path as they are at one moment. */
  public Checkpoint checkpoint() {
    Fingerprint fp = fingerprint;
    return new Checkpoint(fp.length(), fp.sha256(), committed.get(), path, Math.max(size, committed.get()));
  }

  public long committed() {
    return committed.get();
  }

  /** Moves the committed offset forward, never back (batches are acknowledged in order anyway). */
  public void commit(long offset) {
    committed.accumulateAndGet(offset, Math::max);
  }

  public String path() {
    return path;
  }

  public void path(String path) {
    this.path = path;
  }

  /** The attributes every record of this content carries ({@code log.file.path}, {@code log.file.name}). */
  public FileAttributes fileAttributes() {
    return fileAttributes;
  }

  /** The size last seen, for the lag metric. */
  public long size() {
    return size;
  }

  public void size(long size) {
    this.size = size;
  }

  /** Marks the content as read to its end at {@code offset}: once committed there, it is forgotten. */
  public void retire(long offset) {
    this.finalOffset = offset;
  }

  public boolean finished() {
    return finalOffset >= 0 && committed.get() >= finalOffset;
  }

  /** SHA-256 of the first {@code length} bytes, in hex. */
  public static String sha256(byte[] bytes, int length) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update(bytes, 0, length);
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return path + "@" + committed.get();
  }
}
