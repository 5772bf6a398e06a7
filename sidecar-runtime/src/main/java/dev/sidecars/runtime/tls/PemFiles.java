package dev.sidecars.runtime.tls;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PEM files (RFC 7468) with the JDK alone: the text framing here, the DER inside by {@link
 * CertificateFactory} and {@link KeyFactory}. Private keys must be unencrypted PKCS#8 ({@code BEGIN PRIVATE
 * KEY}), RSA or EC; the older OpenSSL forms ({@code BEGIN RSA PRIVATE KEY}, {@code BEGIN EC PRIVATE KEY})
 * have no reader in the JDK and are refused with the command that converts them.
 */
final class PemFiles {
  private static final Pattern BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]*?)-----END \\1-----");
  private static final String[] KEY_ALGORITHMS = {"RSA", "EC"};

  private PemFiles() {}

  record Block(String type, byte[] der) {}

  static List<Block> blocks(byte[] file, String variable, Path path) throws TlsFileException {
    String text = new String(file, StandardCharsets.US_ASCII);
    List<Block> blocks = new ArrayList<>();
    Matcher m = BLOCK.matcher(text);
    while (m.find()) {
      try {
        blocks.add(new Block(m.group(1), Base64.getMimeDecoder().decode(m.group(2))));
      } catch (IllegalArgumentException e) {
        throw new TlsFileException(variable, path, "PEM (block " + (blocks.size() + 1) + ", " + m.group(1)
            + ", is not valid base64)");
      }
    }
    return blocks;
  }

  /** Every {@code CERTIFICATE} block, in file order; at least one. */
  static List<X509Certificate> certificates(byte[] file, String variable, Path path) throws TlsFileException {
    List<X509Certificate> certificates = new ArrayList<>();
    CertificateFactory factory;
    try {
      factory = CertificateFactory.getInstance("X.509");
    } catch (CertificateException e) {
      throw new IllegalStateException("every JDK reads X.509", e);
    }
    int index = 0;
    for (Block block : blocks(file, variable, path)) {
      index++;
      if (!block.type().equals("CERTIFICATE")) {
        continue; // a combined file may hold a key too; it is not a certificate and not ours to read here
      }
      try {
        certificates.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(block.der())));
      } catch (CertificateException e) {
        throw new TlsFileException(variable, path, "PEM certificates (block " + index + " is not an X.509 certificate: "
            + e.getMessage() + ")", e);
      }
    }
    if (certificates.isEmpty()) {
      throw new TlsFileException(variable, path, "at least one PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return certificates;
  }

  /** The one private key of the file. */
  static PrivateKey privateKey(byte[] file, String variable, Path path) throws TlsFileException {
    String expected = "an unencrypted PKCS#8 RSA or EC private key in PEM (-----BEGIN PRIVATE KEY-----)";
    for (Block block : blocks(file, variable, path)) {
      switch (block.type()) {
        case "PRIVATE KEY":
          return pkcs8(block.der(), variable, path, expected);
        case "RSA PRIVATE KEY", "EC PRIVATE KEY":
          throw new TlsFileException(variable, path, expected + "; this file holds the older OpenSSL form ("
              + block.type() + "), which the JDK cannot read: convert it with `openssl pkcs8 -topk8 -nocrypt -in "
              + "key.pem -out key-pkcs8.pem`, or set privateKey.encoding: PKCS8 on the cert-manager Certificate");
        case "ENCRYPTED PRIVATE KEY":
          throw new TlsFileException(variable, path, expected + "; this key is encrypted and the sidecar has no "
              + "passphrase: store it unencrypted in a Secret instead");
        default:
          // EC PARAMETERS and the like: keep looking
      }
    }
    throw new TlsFileException(variable, path, expected);
  }

  private static PrivateKey pkcs8(byte[] der, String variable, Path path, String expected) throws TlsFileException {
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String algorithm : KEY_ALGORITHMS) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (InvalidKeySpecException e) {
        // not this algorithm: try the next
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("every JDK has " + algorithm + " keys", e);
      }
    }
    throw new TlsFileException(variable, path, expected + " (this PKCS#8 key is neither RSA nor EC, or is damaged)");
  }
}
