package dev.sidecars.runtime.tls;

import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.Locale;
import javax.net.ssl.SSLException;

/**
 * Why a TLS handshake failed, as the {@code reason} label of {@code tls_handshake_failures_total}. Read
 * from the exception the JDK's TLS engine (or Netty's handler) gave, including the alerts a peer sent.
 */
public enum HandshakeFailureReason {
  /** A certificate (the peer's, or ours as the peer reports it) has expired. */
  EXPIRED,
  /** A certificate is not valid yet (clock skew, or issued for the future). */
  NOT_YET_VALID,
  /** A certificate does not chain to a trusted CA, or the peer refused ours. */
  UNTRUSTED,
  /** The server's certificate does not name the host or the expected identity (client side). */
  BAD_NAME,
  /** A client certificate was required and none was sent. */
  NO_CLIENT_CERT,
  /** Plaintext bytes arrived on a port that speaks only TLS. */
  PLAINTEXT_ON_TLS_PORT,
  /** A TLS ClientHello arrived on a plaintext port, or a plaintext answer came to our TLS client. */
  TLS_ON_PLAINTEXT_PORT,
  /** The handshake did not finish within the handshake timeout. */
  TIMEOUT,
  /** No common protocol version, cipher suite or application protocol; a malformed message. */
  PROTOCOL,
  /** Anything else, such as the connection closing during the handshake. */
  OTHER;

  private final String label = name().toLowerCase(Locale.ROOT);

  /** The metric label: the name in lower case. */
  public String label() {
    return label;
  }

  /** The reason for {@code cause}; {@code clientSide} when we opened the connection. */
  public static HandshakeFailureReason classify(Throwable cause, boolean clientSide) {
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SslHandshakeTimeoutException) {
        return TIMEOUT;
      }
      if (t instanceof NotSslRecordException) {
        return clientSide ? TLS_ON_PLAINTEXT_PORT : PLAINTEXT_ON_TLS_PORT;
      }
      if (t instanceof CertificateExpiredException) {
        return EXPIRED;
      }
      if (t instanceof CertificateNotYetValidException) {
        return NOT_YET_VALID;
      }
      if (t instanceof PeerIdentityMismatchException) {
        return BAD_NAME;
      }
      if (t instanceof CertPathValidatorException validator) {
        if (validator.getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
          return EXPIRED;
        }
        if (validator.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
          return NOT_YET_VALID;
        }
      }
    }
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String message = t.getMessage() == null ? "" : t.getMessage();
      if (t instanceof java.security.cert.CertificateException
          && (message.startsWith("No subject alternative") || message.startsWith("No name matching"))) {
        return BAD_NAME; // the JDK's hostname check (sun.security.util.HostnameChecker)
      }
      if (t instanceof CertPathBuilderException || t instanceof CertPathValidatorException) {
        return UNTRUSTED;
      }
      if (message.contains("Empty client certificate chain") || message.contains("Empty server certificate chain")) {
        return NO_CLIENT_CERT;
      }
      if (message.startsWith("Received fatal alert: ")) {
        return fromAlert(message.substring("Received fatal alert: ".length()).trim());
      }
    }
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SSLException) {
        return PROTOCOL;
      }
    }
    return OTHER;
  }

  /** The alert a peer sent (RFC 8446 6.2), from the peer's point of view about our side. */
  private static HandshakeFailureReason fromAlert(String alert) {
    return switch (alert) {
      case "certificate_expired" -> EXPIRED;
      case "bad_certificate", "unsupported_certificate", "certificate_unknown", "unknown_ca", "certificate_revoked",
          "access_denied" -> UNTRUSTED;
      case "certificate_required" -> NO_CLIENT_CERT;
      default -> PROTOCOL;
    };
  }
}
