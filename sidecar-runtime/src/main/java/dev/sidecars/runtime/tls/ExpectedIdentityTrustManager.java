package dev.sidecars.runtime.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies a server's chain with the CA bundle (or the JDK's store), then requires its certificate to name
 * one of the identities expected for that upstream (Istio's secure naming): a certificate from the right
 * CA but for another workload fails the handshake, counted as {@code bad_name}.
 */
final class ExpectedIdentityTrustManager extends X509ExtendedTrustManager {
  private final X509ExtendedTrustManager delegate;
  private final Set<String> expected;

  ExpectedIdentityTrustManager(X509ExtendedTrustManager delegate, Set<String> expected) {
    this.delegate = delegate;
    this.expected = Set.copyOf(expected);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    delegate.checkServerTrusted(chain, authType, engine);
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    delegate.checkServerTrusted(chain, authType, socket);
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate.checkServerTrusted(chain, authType);
    check(chain);
  }

  private void check(X509Certificate[] chain) throws CertificateException {
    PeerCertificate server = PeerCertificate.of(chain[0]);
    for (String name : expected) {
      if (server.names(name)) {
        return;
      }
    }
    throw new PeerIdentityMismatchException("the server is " + server.identity() + " (URI SANs " + server.uris()
        + ", DNS SANs " + server.dnsNames() + "), expected one of " + expected);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    delegate.checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    delegate.checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate.checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return delegate.getAcceptedIssuers();
  }
}
