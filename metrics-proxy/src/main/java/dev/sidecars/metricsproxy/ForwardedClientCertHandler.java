package dev.sidecars.metricsproxy;

import dev.sidecars.runtime.proxy.ExchangeHandler;
import dev.sidecars.runtime.proxy.ProxyExchange;
import dev.sidecars.runtime.tls.ForwardedClientCert;
import dev.sidecars.runtime.tls.PeerCertificate;
import dev.sidecars.runtime.tls.TlsPeer;
import java.util.Optional;

/**
 * Tells the application who called: every {@code X-Forwarded-Client-Cert} a request arrives with is removed
 * (whatever the TLS mode, so the header is never the caller's word), and when the caller presented a
 * verified certificate, one in Envoy's format is set in its place, {@code By=} this sidecar's identity.
 */
final class ForwardedClientCertHandler implements ExchangeHandler {
  private final ExchangeHandler next;

  ForwardedClientCertHandler(ExchangeHandler next) {
    this.next = next;
  }

  @Override
  public void handle(ProxyExchange exchange) {
    Optional<TlsPeer> tls = exchange.tls();
    PeerCertificate client = tls.flatMap(TlsPeer::peer).orElse(null);
    String by = tls.flatMap(TlsPeer::local).map(PeerCertificate::identity).orElse(null);
    ForwardedClientCert.replace(exchange.request().headers(), client, by);
    next.handle(exchange);
  }
}
