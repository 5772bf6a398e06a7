package dev.sidecars.runtime.tls;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * One immutable reading of the TLS files: this sidecar's certificate chain and key (when configured) and
 * the trust manager built from the CA bundle (when configured). SSL contexts are built from one snapshot;
 * a rotation makes a new snapshot, so connections opened before it keep what they were opened with.
 */
public final class TlsMaterial {
  private final List<X509Certificate> chain;
  private final PrivateKey key;
  private final List<X509Certificate> trustAnchors;
  private final X509ExtendedTrustManager trustManager;
  private final PeerCertificate own;
  private final String fingerprint;

  private TlsMaterial(List<X509Certificate> chain, PrivateKey key, List<X509Certificate> trustAnchors,
      X509ExtendedTrustManager trustManager, String fingerprint) {
    this.chain = chain;
    this.key = key;
    this.trustAnchors = trustAnchors;
    this.trustManager = trustManager;
    this.own = chain.isEmpty() ? null : PeerCertificate.of(chain.get(0));
    this.fingerprint = fingerprint;
  }

  /** Parses and checks what {@code bytes} holds; the first problem is thrown naming its variable. */
  static TlsMaterial load(TlsFiles files, FileBytes bytes) throws TlsFileException {
    if (bytes.unreadable() != null) {
      throw bytes.unreadable();
    }
    List<X509Certificate> chain = List.of();
    PrivateKey key = null;
    if (files.certificate().isPresent()) {
      chain = List.copyOf(PemFiles.certificates(bytes.certificate(), TlsFiles.CERT_VARIABLE,
          files.certificate().get()));
      key = PemFiles.privateKey(bytes.key(), TlsFiles.KEY_VARIABLE, files.key().get());
      if (!matches(key, chain.get(0))) {
        throw new TlsFileException(TlsFiles.KEY_VARIABLE, files.key().get(), "the private key of the first "
            + "certificate in " + files.certificate().get() + " (" + TlsFiles.CERT_VARIABLE + "); this key belongs "
            + "to another certificate");
      }
    }
    List<X509Certificate> anchors = List.of();
    X509ExtendedTrustManager trustManager = null;
    if (files.trustBundle().isPresent()) {
      anchors = List.copyOf(PemFiles.certificates(bytes.trustBundle(), TlsFiles.CA_VARIABLE,
          files.trustBundle().get()));
      trustManager = trustManager(anchors);
    }
    return new TlsMaterial(chain, key, anchors, trustManager, bytes.fingerprint());
  }

  /**
   * Whether {@code key} is the private half of the certificate's public key: a signature made with one
   * verifies with the other. Catches the common rotation mistake of a certificate and a key from two
   * different issuances.
   */
  private static boolean matches(PrivateKey key, X509Certificate certificate) {
    String algorithm = key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
    if (!certificate.getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
      return false;
    }
    try {
      byte[] probe = "sidecar key check".getBytes(StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key, new SecureRandom());
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static X509ExtendedTrustManager trustManager(List<X509Certificate> anchors) {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < anchors.size(); i++) {
        store.setCertificateEntry("ca-" + i, anchors.get(i));
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      for (TrustManager manager : factory.getTrustManagers()) {
        if (manager instanceof X509ExtendedTrustManager x509) {
          return x509;
        }
      }
      throw new IllegalStateException("the JDK's PKIX trust manager factory made no X509ExtendedTrustManager");
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot build a trust store in memory", e);
    }
  }

  /** The chain, leaf first; empty when no certificate is configured. */
  public List<X509Certificate> chain() {
    return chain;
  }

  /** This sidecar's own certificate, as a peer would see it; empty when none is configured. */
  public Optional<PeerCertificate> certificate() {
    return Optional.ofNullable(own);
  }

  /** When this sidecar's certificate expires; empty when none is configured. */
  public Optional<Instant> notAfter() {
    return chain.isEmpty() ? Optional.empty() : Optional.of(chain.get(0).getNotAfter().toInstant());
  }

  /** The CA certificates of the bundle; empty when none is configured. */
  public List<X509Certificate> trustAnchors() {
    return trustAnchors;
  }

  /** SHA-256 over the files' bytes: equal for equal files. */
  public String fingerprint() {
    return fingerprint;
  }

  PrivateKey privateKey() {
    return key;
  }

  /** Verifies peers against the bundle; null when no bundle is configured. */
  X509ExtendedTrustManager trustManager() {
    return trustManager;
  }

  boolean hasKeyPair() {
    return key != null;
  }

  @Override
  public String toString() {
    return "TlsMaterial[" + (own == null ? "no certificate" : own.identity() + " until " + notAfter().orElseThrow())
        + ", " + trustAnchors.size() + " CA certificate(s), " + fingerprint.substring(0, 12) + "]";
  }
}
