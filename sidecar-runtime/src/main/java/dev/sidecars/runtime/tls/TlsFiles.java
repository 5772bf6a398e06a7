package dev.sidecars.runtime.tls;

import dev.sidecars.runtime.config.Settings;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a sidecar's TLS material lives: the certificate chain ({@value #CERT_VARIABLE}), its private key
 * ({@value #KEY_VARIABLE}) and the CA bundle that peers' certificates are verified against ({@value
 * #CA_VARIABLE}), all PEM, as a mounted Kubernetes Secret, cert-manager or a SPIFFE agent writes them.
 * The certificate and the key come together or not at all.
 *
 * @param certificate the chain, leaf first
 * @param key the leaf's private key, unencrypted PKCS#8
 * @param trustBundle one or more CA certificates
 */
public record TlsFiles(Optional<Path> certificate, Optional<Path> key, Optional<Path> trustBundle) {
  public static final String CERT_VARIABLE = "TLS_CERT_FILE";
  public static final String KEY_VARIABLE = "TLS_KEY_FILE";
  public static final String CA_VARIABLE = "TLS_CA_FILE";

  public TlsFiles {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(trustBundle, "trustBundle");
    if (certificate.isPresent() != key.isPresent()) {
      throw new IllegalArgumentException("a certificate needs its key, and a key its certificate");
    }
  }

  /** A certificate with its key, and optionally a CA bundle. */
  public static TlsFiles of(Path certificate, Path key, Path trustBundleOrNull) {
    return new TlsFiles(Optional.of(certificate), Optional.of(key), Optional.ofNullable(trustBundleOrNull));
  }

  /** Only a CA bundle: a client that verifies servers but shows no certificate of its own. */
  public static TlsFiles trustOnly(Path trustBundle) {
    return new TlsFiles(Optional.empty(), Optional.empty(), Optional.of(trustBundle));
  }

  /**
   * Reads the three variables and loads the files once, so that a missing variable or a bad file is
   * reported with the other configuration problems, one line naming the variable. Returns empty when
   * nothing is needed and nothing is set, or when a problem was recorded.
   *
   * @param why the setting that asks for the files, for the messages (e.g. {@code TLS_MODE=mtls})
   */
  static Optional<TlsFiles> read(Settings settings, boolean needKeyPair, boolean needTrustBundle, String why) {
    Optional<Path> certificate = settings.optional(CERT_VARIABLE).map(Path::of);
    Optional<Path> key = settings.optional(KEY_VARIABLE).map(Path::of);
    Optional<Path> trust = settings.optional(CA_VARIABLE).map(Path::of);
    int problems = 0;
    if (needKeyPair && certificate.isEmpty()) {
      settings.problem(CERT_VARIABLE, "", "a PEM certificate chain file (" + why + " needs one)");
      problems++;
    }
    if ((needKeyPair || certificate.isPresent()) && key.isEmpty()) {
      settings.problem(KEY_VARIABLE, "", "a PEM private key file (" + (needKeyPair ? why : CERT_VARIABLE + " is set and")
          + " needs one)");
      problems++;
    }
    if (key.isPresent() && certificate.isEmpty() && !needKeyPair) {
      settings.problem(CERT_VARIABLE, "", "a PEM certificate chain file (" + KEY_VARIABLE + " is set and needs one)");
      problems++;
    }
    if (needTrustBundle && trust.isEmpty()) {
      settings.problem(CA_VARIABLE, "", "a PEM file of CA certificates (" + why + " needs one)");
      problems++;
    }
    if (problems > 0 || (certificate.isEmpty() && trust.isEmpty())) {
      return Optional.empty();
    }
    TlsFiles files = new TlsFiles(certificate, key, trust);
    try {
      TlsMaterial.load(files, FileBytes.read(files));
    } catch (TlsFileException e) {
      settings.problem(e.variable(), e.file().toString(), e.expected());
      return Optional.empty();
    }
    return Optional.of(files);
  }
}
