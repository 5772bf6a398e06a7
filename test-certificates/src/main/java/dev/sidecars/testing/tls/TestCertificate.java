package dev.sidecars.testing.tls;

import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A certificate issued by a {@link TestCa}, with its private key: the chain (leaf first, then any
 * intermediate) and the key, as objects or as the PEM files a sidecar reads.
 */
public final class TestCertificate {
  private final List<X509Certificate> chain;
  private final PrivateKey privateKey;

  TestCertificate(List<X509Certificate> chain, PrivateKey privateKey) {
    this.chain = chain;
    this.privateKey = privateKey;
  }

  /** The leaf certificate. */
  public X509Certificate certificate() {
    return chain.get(0);
  }

  /** Leaf first, then the intermediates (never the root). */
  public List<X509Certificate> chain() {
    return chain;
  }

  public PrivateKey privateKey() {
    return privateKey;
  }

  /** The chain in PEM, leaf first. */
  public String chainPem() {
    return Pem.certificates(chain);
  }

  /** The key as unencrypted PKCS#8 PEM ({@code BEGIN PRIVATE KEY}), as cert-manager writes with PKCS8 encoding. */
  public String privateKeyPem() {
    return Pem.pkcs8(privateKey);
  }

  /**
   * The key in OpenSSL's traditional form: {@code BEGIN RSA PRIVATE KEY} (PKCS#1) or {@code BEGIN EC PRIVATE
   * KEY} (SEC 1), for tests of how such a file is refused.
   */
  public String traditionalPrivateKeyPem() {
    return Pem.traditional(privateKey);
  }

  /** Writes the chain and the PKCS#8 key; returns {@code certificateFile}. */
  public Path writeTo(Path certificateFile, Path keyFile) {
    TestCa.writeString(keyFile, privateKeyPem());
    return TestCa.writeString(certificateFile, chainPem());
  }
}
