package dev.sidecars.logforwarder.checkpoint;

import java.util.Arrays;

/**
 * A file's first bytes and their SHA-256 as one immutable value. The tailer grows a file's fingerprint
 * while the shipper writes checkpoints from another thread; kept as two fields, a reader could pair the
 * new bytes' length with the old bytes' hash and save a position no file matches after a restart.
 */
public final class Fingerprint {
  /** The fingerprint of a file with no bytes yet. */
  public static final Fingerprint EMPTY = new Fingerprint(new byte[0]);

  private final byte[] bytes;
  private final String sha256;

  private Fingerprint(byte[] bytes) {
    this.bytes = bytes;
    this.sha256 = FileIdentity.sha256(bytes, bytes.length);
  }

  /** The fingerprint of {@code head}, copied so later changes to the array cannot alter it. */
  public static Fingerprint of(byte[] head) {
    return head.length == 0 ? EMPTY : new Fingerprint(head.clone());
  }

  public int length() {
    return bytes.length;
  }

  /** SHA-256 in hex of exactly these bytes. */
  public String sha256() {
    return sha256;
  }

  /** Whether {@code head} is exactly these bytes. */
  public boolean matches(byte[] head) {
    return head != null && Arrays.equals(bytes, head);
  }

  /** Whether {@code head} (the first bytes of some file) shows the same content: one is a prefix of the other. */
  public boolean sameContent(byte[] head) {
    if (bytes.length == 0 || head.length == 0) {
      return false;
    }
    int n = Math.min(bytes.length, head.length);
    return Arrays.equals(bytes, 0, n, head, 0, n);
  }
}
