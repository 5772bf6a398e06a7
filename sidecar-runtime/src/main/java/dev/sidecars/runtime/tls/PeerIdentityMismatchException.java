package dev.sidecars.runtime.tls;

import java.security.cert.CertificateException;

/** The server's certificate is trusted but names none of the identities expected for that upstream. */
final class PeerIdentityMismatchException extends CertificateException {
  private static final long serialVersionUID = 1L;

  PeerIdentityMismatchException(String message) {
    super(message);
  }
}
