package dev.sidecars.runtime.tls;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The TLS side of the egress proxy's upstream connections: for an {@code https://} upstream, or any
 * upstream when {@code UPSTREAM_TLS} is {@code tls} or {@code mtls}, call {@link #initChannel} on the new
 * connection before the HTTP handlers and send once the returned future succeeds.
 *
 * <p>The server is verified against {@code TLS_CA_FILE} when set, else the JDK's trust store. Its name is
 * checked in one of two ways: by default the certificate must name the host (HTTPS endpoint
 * identification, RFC 2818); when the upstream lists expected identities (SPIFFE IDs), the certificate
 * must name one of them instead, since mesh certificates carry a workload identity rather than the host
 * name clients dial. With {@code mtls} this sidecar presents its own certificate. Contexts are built per
 * material and per (identities, ALPN) pair, so a rotation reaches new connections only.
 */
public final class UpstreamTls {
  private final UpstreamTlsConfig.Mode mode;
  private final HandshakeFailures failures;
  private final long handshakeTimeoutMillis;
  private final PerMaterial<Contexts> contexts;

  /**
   * One upstream as TLS sees it.
   *
   * @param host the name dialled: sent as SNI and, without expected identities, checked against the certificate
   * @param port the port
   * @param expectedIdentities identities the server's certificate must name one of (URI or DNS SAN); empty: the host
   * @param applicationProtocols ALPN offer, e.g. {@code [h2, http/1.1]}; empty: no ALPN
   */
  public record Destination(String host, int port, Set<String> expectedIdentities, List<String> applicationProtocols) {
    public Destination {
      Objects.requireNonNull(host, "host");
      expectedIdentities = Set.copyOf(expectedIdentities);
      applicationProtocols = List.copyOf(applicationProtocols);
    }

    /** Checked by host name, offering HTTP/1.1 only. */
    public static Destination of(String host, int port) {
      return new Destination(host, port, Set.of(), List.of("http/1.1"));
    }
  }

  private record Key(Set<String> expected, List<String> alpn) {}

  private record Contexts(TlsMaterial material, Map<Key, SslContext> byKey) {}

  private UpstreamTls(UpstreamTlsConfig.Mode mode, Supplier<TlsMaterial> material, HandshakeFailures failures,
      Duration handshakeTimeout) {
    this.mode = mode;
    this.failures = failures;
    this.handshakeTimeoutMillis = Math.max(1, handshakeTimeout.toMillis());
    this.contexts = new PerMaterial<>(material == null ? () -> null : material,
        m -> new Contexts(m, new ConcurrentHashMap<>()));
  }

  /**
   * @param material the current material (a {@link TlsMaterialSource}), or null when no TLS file is
   *     configured: the JDK's trust store then, and no client certificate
   */
  public static UpstreamTls create(UpstreamTlsConfig.Mode mode, Supplier<TlsMaterial> material,
      HandshakeFailures failures, Duration handshakeTimeout) {
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(failures, "failures");
    if (mode == UpstreamTlsConfig.Mode.MTLS && (material == null || !material.get().hasKeyPair())) {
      throw new IllegalArgumentException("UPSTREAM_TLS=mtls needs a certificate and key");
    }
    return new UpstreamTls(mode, material, failures, handshakeTimeout);
  }

  /** Whether a plain {@code http://} upstream leaves over TLS ({@code UPSTREAM_TLS} is tls or mtls). */
  public boolean upgradesPlainUpstreams() {
    return mode != UpstreamTlsConfig.Mode.OFF;
  }

  /**
   * Puts TLS in a new upstream connection's pipeline (call it before adding the HTTP handlers); the future
   * completes when the handshake does, failures counted and logged already, and on success {@link
   * TlsPeer#of(Channel)} names the server.
   */
  public Future<Channel> initChannel(Channel channel, Destination destination) {
    SslHandler handler = sslContext(destination).newHandler(channel.alloc(), destination.host(), destination.port());
    handler.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
    Promise<Channel> done = channel.eventLoop().newPromise();
    channel.pipeline().addLast("tls", handler);
    channel.pipeline().addLast("tls-handshake", new HandshakeWatcher(failures, true,
        (ctx, peer) -> done.trySuccess(ctx.channel()), done::tryFailure));
    return done;
  }

  /** The client context for {@code destination} and the current material. */
  public SslContext sslContext(Destination destination) {
    Contexts current = contexts.get();
    Key key = new Key(destination.expectedIdentities(), destination.applicationProtocols());
    TlsMaterial m = current.material();
    return current.byKey().computeIfAbsent(key, k -> build(m, k));
  }

  private SslContext build(TlsMaterial m, Key key) {
    SslContextBuilder builder = TlsContexts.common(SslContextBuilder.forClient(), key.alpn());
    X509ExtendedTrustManager trust = m != null && m.trustManager() != null ? m.trustManager() : jdkTrust();
    if (key.expected().isEmpty()) {
      builder.trustManager(trust).endpointIdentificationAlgorithm("HTTPS");
    } else {
      builder.trustManager(new ExpectedIdentityTrustManager(trust, key.expected())).endpointIdentificationAlgorithm(null);
    }
    if (mode == UpstreamTlsConfig.Mode.MTLS) {
      builder.keyManager(m.privateKey(), m.chain());
    }
    try {
      return builder.build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot build a TLS client context", e);
    }
  }

  private static X509ExtendedTrustManager jdkTrust() {
    try {
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init((KeyStore) null);
      for (TrustManager manager : factory.getTrustManagers()) {
        if (manager instanceof X509ExtendedTrustManager x509) {
          return x509;
        }
      }
      throw new IllegalStateException("the JDK has no X509ExtendedTrustManager");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot read the JDK's trust store", e);
    }
  }
}
