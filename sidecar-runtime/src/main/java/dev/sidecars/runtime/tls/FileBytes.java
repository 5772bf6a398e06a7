package dev.sidecars.runtime.tls;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The bytes of the TLS files as read at one moment, with a fingerprint over all of them: comparing
 * fingerprints is how a change is noticed, whatever way the files were replaced (rewritten in place,
 * renamed over, or a Kubernetes {@code ..data} symlink swapped: reading follows links).
 */
record FileBytes(byte[] certificate, byte[] key, byte[] trustBundle, String fingerprint, TlsFileException unreadable) {

  /** Reads every file present in {@code files}; a file that cannot be read is kept as {@code unreadable}. */
  static FileBytes read(TlsFiles files) {
    MessageDigest digest = sha256();
    byte[][] contents = new byte[3][];
    TlsFileException unreadable = null;
    String[] variables = {TlsFiles.CERT_VARIABLE, TlsFiles.KEY_VARIABLE, TlsFiles.CA_VARIABLE};
    Optional<?>[] paths = {files.certificate(), files.key(), files.trustBundle()};
    for (int i = 0; i < 3; i++) {
      Path path = (Path) paths[i].orElse(null);
      if (path == null) {
        digest.update((byte) 0);
        continue;
      }
      try {
        contents[i] = Files.readAllBytes(path);
        digest.update((byte) 1);
        digest.update(ByteBuffer.allocate(4).putInt(contents[i].length).flip());
        digest.update(contents[i]);
      } catch (IOException e) {
        digest.update((byte) 2);
        digest.update(String.valueOf(e).getBytes(StandardCharsets.UTF_8));
        if (unreadable == null) {
          unreadable = new TlsFileException(variables[i], path, "a readable file (" + e + ")", e);
        }
      }
    }
    return new FileBytes(contents[0], contents[1], contents[2], HexFormat.of().formatHex(digest.digest()), unreadable);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof FileBytes that && fingerprint.equals(that.fingerprint);
  }

  @Override
  public int hashCode() {
    return fingerprint.hashCode();
  }

  @Override
  public String toString() {
    return "FileBytes[" + fingerprint.substring(0, 12) + "]";
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  static byte[] copy(byte[] bytes) {
    return bytes == null ? null : Arrays.copyOf(bytes, bytes.length);
  }
}
