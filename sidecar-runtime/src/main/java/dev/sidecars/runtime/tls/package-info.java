/**
 * TLS and mutual TLS for the proxies' data plane, with the JDK's TLS (JSSE) through Netty's {@code
 * SslHandler}: certificates from PEM files that rotate without a restart, workload identities, and every
 * failed handshake counted by reason.
 *
 * <ul>
 *   <li>{@link dev.sidecars.runtime.tls.ServerTlsConfig} / {@link dev.sidecars.runtime.tls.UpstreamTlsConfig}:
 *       read {@code TLS_MODE} or {@code UPSTREAM_TLS} and the {@link dev.sidecars.runtime.tls.TlsFiles}
 *       ({@code TLS_CERT_FILE}, {@code TLS_KEY_FILE}, {@code TLS_CA_FILE}), loading them once so a bad file
 *       is a one-line configuration problem.
 *   <li>{@link dev.sidecars.runtime.tls.TlsMaterialSource}: the current {@link
 *       dev.sidecars.runtime.tls.TlsMaterial}, re-read when the files change; expiry gauge and warnings.
 *   <li>{@link dev.sidecars.runtime.tls.ServerTls}: the ingress listener's TLS ({@code off}, {@code tls},
 *       {@code mtls}, {@code permissive}), ALPN {@code h2}/{@code http/1.1}, handshake timeout.
 *   <li>{@link dev.sidecars.runtime.tls.UpstreamTls}: the egress client's TLS, by host name or by expected
 *       workload identity, with the sidecar's certificate for {@code mtls}.
 *   <li>{@link dev.sidecars.runtime.tls.TlsPeer} and {@link dev.sidecars.runtime.tls.PeerCertificate}: who
 *       is on the other end of a connection; {@link dev.sidecars.runtime.tls.ForwardedClientCert} tells the
 *       application.
 *   <li>{@link dev.sidecars.runtime.tls.HandshakeFailures}: {@code tls_handshake_failures_total{reason}}
 *       and a throttled log.
 * </ul>
 *
 * <p>Wiring, ingress: {@code ServerTlsConfig.from(settings)} in the config; at start one {@code
 * HandshakeFailures} and, unless off, {@code TlsMaterialSource.start(files, meters, Clock.systemUTC(),
 * TlsMaterialSource.DEFAULT_POLL)} (closed with the listener); {@code ServerTls.create(mode, source,
 * failures, ServerTls.DEFAULT_HANDSHAKE_TIMEOUT)}; in the listener's {@code ChannelInitializer}, {@code
 * serverTls.initChannel(ch, (pipeline, protocol) -> ...add the HTTP/2 or HTTP/1.1 handlers...)}. Per
 * request, {@code TlsPeer.of(channel)} gives the identity and {@code ForwardedClientCert.replace(headers,
 * peer, localIdentity)} sets the header. Egress: {@code UpstreamTls.create(...)} once, and {@code
 * upstreamTls.initChannel(ch, destination)} on each new upstream connection before its HTTP handlers.
 */
package dev.sidecars.runtime.tls;
