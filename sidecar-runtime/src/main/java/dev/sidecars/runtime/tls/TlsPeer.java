package dev.sidecars.runtime.tls;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * What the TLS handshake of one connection established, kept on the connection's channel (and found from
 * an HTTP/2 stream's child channel too) for the proxy to read per request.
 *
 * @param peer the peer's verified certificate; empty when it sent none (TLS without client auth)
 * @param local this sidecar's certificate as presented on this connection (for {@code By=}); empty when none
 * @param protocol the TLS version, e.g. {@code TLSv1.3}
 * @param cipherSuite the negotiated cipher suite
 * @param applicationProtocol the ALPN result ({@code h2}, {@code http/1.1}), {@code http/1.1} without ALPN
 */
public record TlsPeer(Optional<PeerCertificate> peer, Optional<PeerCertificate> local, String protocol,
    String cipherSuite, String applicationProtocol) {
  static final AttributeKey<TlsPeer> KEY = AttributeKey.valueOf(TlsPeer.class, "tls");

  /** The TLS facts of {@code channel}'s connection; empty for a plaintext connection. */
  public static Optional<TlsPeer> of(Channel channel) {
    for (Channel c = channel; c != null; c = c.parent()) {
      TlsPeer peer = c.attr(KEY).get();
      if (peer != null) {
        return Optional.of(peer);
      }
    }
    return Optional.empty();
  }

  /** The peer's identity, when it sent a certificate. */
  public Optional<String> identity() {
    return peer.map(PeerCertificate::identity);
  }

  static TlsPeer from(SslHandler handler) {
    SSLSession session = handler.engine().getSession();
    String alpn = handler.applicationProtocol();
    return new TlsPeer(first(peerCertificates(session)), first(session.getLocalCertificates()), session.getProtocol(),
        session.getCipherSuite(), alpn == null ? "http/1.1" : alpn);
  }

  private static Certificate[] peerCertificates(SSLSession session) {
    try {
      return session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return null; // the peer sent no certificate
    }
  }

  private static Optional<PeerCertificate> first(Certificate[] chain) {
    if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      return Optional.empty();
    }
    return Optional.of(PeerCertificate.of(leaf));
  }
}
