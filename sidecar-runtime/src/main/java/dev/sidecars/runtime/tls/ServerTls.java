package dev.sidecars.runtime.tls;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;

/**
 * The TLS side of the ingress listener ({@code TLS_MODE}): call {@link #initChannel} first thing in the
 * listener's {@code ChannelInitializer}; it installs TLS as the mode says and calls back once the
 * connection's protocol is known, so the HTTP handlers go in after it. Each connection gets an engine
 * from the material current when it arrives ({@link TlsMaterialSource}), so after a rotation new
 * connections use the new certificate and open ones keep theirs.
 *
 * <p>TLS 1.2 and 1.3 only, the JDK's implementation. ALPN offers {@code h2} and {@code http/1.1}. A
 * handshake (or, in permissive mode, the first bytes) must complete within the handshake timeout. Failed
 * handshakes are counted by reason ({@link HandshakeFailures}); the peer's verified certificate is on the
 * connection as a {@link TlsPeer}.
 */
public final class ServerTls {
  /** How long a client has to finish the TLS handshake unless told otherwise. */
  public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

  /** The protocol a connection speaks once TLS (if any) is set up. */
  public enum Protocol {
    /** HTTP/2 chosen by ALPN. */
    H2,
    /** HTTP/1.1 chosen by ALPN, or TLS without ALPN. */
    HTTP_1_1,
    /** No TLS: HTTP/1.1 or HTTP/2 with prior knowledge, for the listener to tell apart. */
    CLEARTEXT
  }

  /** Adds the HTTP handlers once the protocol is known; runs on the connection's event loop. */
  @FunctionalInterface
  public interface ProtocolSetup {
    void configure(ChannelPipeline pipeline, Protocol protocol);
  }

  private final ServerTlsConfig.Mode mode;
  private final HandshakeFailures failures;
  private final long handshakeTimeoutNanos;
  private final PerMaterial<SslContext> context;

  private ServerTls(ServerTlsConfig.Mode mode, Supplier<TlsMaterial> material, HandshakeFailures failures,
      Duration handshakeTimeout) {
    this.mode = mode;
    this.failures = failures;
    this.handshakeTimeoutNanos = handshakeTimeout.toNanos();
    this.context = new PerMaterial<>(material, this::build);
  }

  /**
   * @param material the current material, usually a {@link TlsMaterialSource}; unused (may be null) for
   *     {@code OFF}
   */
  public static ServerTls create(ServerTlsConfig.Mode mode, Supplier<TlsMaterial> material,
      HandshakeFailures failures, Duration handshakeTimeout) {
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(failures, "failures");
    if (mode != ServerTlsConfig.Mode.OFF) {
      Objects.requireNonNull(material, "material");
    }
    ServerTls tls = new ServerTls(mode, material, failures, handshakeTimeout);
    if (mode != ServerTlsConfig.Mode.OFF) {
      tls.sslContext(); // fail at start, not on the first connection
    }
    return tls;
  }

  public ServerTlsConfig.Mode mode() {
    return mode;
  }

  /** Installs what the mode needs at the head of a new connection's pipeline, then hands over to {@code setup}. */
  public void initChannel(Channel channel, ProtocolSetup setup) {
    ChannelPipeline pipeline = channel.pipeline();
    switch (mode) {
      case OFF -> {
        pipeline.addLast("tls-refuse", TlsDetector.refusingTls(failures));
        setup.configure(pipeline, Protocol.CLEARTEXT);
      }
      case TLS, MTLS -> {
        pipeline.addLast("tls", newHandler(channel, handshakeTimeoutNanos));
        pipeline.addLast("tls-handshake", watcher(setup));
      }
      case PERMISSIVE -> pipeline.addLast("tls-detect", new TlsDetector(sslContext(), new TlsDetector.Outcome() {
        @Override
        public SslHandler tls(ChannelHandlerContext ctx, SslContext context, long remainingNanos) {
          // The watcher first: the SslHandler may fail on the bytes the detector hands it at once.
          ctx.pipeline().addAfter(ctx.name(), "tls-handshake", watcher(setup));
          return handler(context, ctx.channel(), remainingNanos);
        }

        @Override
        public void plaintext(ChannelHandlerContext ctx) {
          setup.configure(ctx.pipeline(), Protocol.CLEARTEXT);
        }
      }, failures, handshakeTimeoutNanos));
    }
  }

  private HandshakeWatcher watcher(ProtocolSetup setup) {
    return new HandshakeWatcher(failures, false, (ctx, peer) -> setup.configure(ctx.pipeline(),
        ApplicationProtocolNames.HTTP_2.equals(peer.applicationProtocol()) ? Protocol.H2 : Protocol.HTTP_1_1),
        cause -> {});
  }

  private SslHandler newHandler(Channel channel, long timeoutNanos) {
    return handler(sslContext(), channel, timeoutNanos);
  }

  private static SslHandler handler(SslContext context, Channel channel, long timeoutNanos) {
    SslHandler handler = context.newHandler(channel.alloc());
    handler.setHandshakeTimeoutMillis(Math.max(1, timeoutNanos / 1_000_000));
    return handler;
  }

  /** The server context for the current material, built once per material. */
  public SslContext sslContext() {
    return context.get();
  }

  private SslContext build(TlsMaterial m) {
    if (!m.hasKeyPair()) {
      throw new IllegalStateException("TLS_MODE=" + mode.name().toLowerCase(java.util.Locale.ROOT)
          + " needs a certificate and key");
    }
    SslContextBuilder builder = SslContextBuilder.forServer(m.privateKey(), m.chain());
    TlsContexts.common(builder, List.of(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1));
    boolean trust = m.trustManager() != null;
    if (mode == ServerTlsConfig.Mode.MTLS && !trust) {
      throw new IllegalStateException("TLS_MODE=mtls needs a CA bundle to verify clients against");
    }
    if (trust) {
      builder.trustManager(m.trustManager());
    }
    builder.clientAuth(switch (mode) {
      case MTLS -> ClientAuth.REQUIRE;
      case PERMISSIVE -> trust ? ClientAuth.OPTIONAL : ClientAuth.NONE;
      default -> ClientAuth.NONE;
    });
    try {
      return builder.build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot build a TLS server context from " + m, e);
    }
  }
}
