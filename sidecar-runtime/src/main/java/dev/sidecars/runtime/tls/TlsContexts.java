package dev.sidecars.runtime.tls;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.util.List;

/** What every SSL context of the sidecar shares: the JDK's TLS, versions 1.3 and 1.2, AEAD suites. */
final class TlsContexts {
  static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private TlsContexts() {}

  /**
   * JDK provider (no native library), TLS 1.2 and 1.3 only, and the forward-secret AEAD suites HTTP/2
   * allows (RFC 9113 9.2.2), so an h2 peer never meets a suite it must refuse.
   */
  static SslContextBuilder common(SslContextBuilder builder, List<String> alpn) {
    builder.sslProvider(SslProvider.JDK)
        .protocols(PROTOCOLS)
        .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE);
    if (!alpn.isEmpty()) {
      builder.applicationProtocolConfig(new ApplicationProtocolConfig(
          ApplicationProtocolConfig.Protocol.ALPN,
          ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
          ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
          alpn));
    }
    return builder;
  }
}
