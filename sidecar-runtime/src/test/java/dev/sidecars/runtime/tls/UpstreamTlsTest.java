package dev.sidecars.runtime.tls;

import static dev.sidecars.runtime.tls.ServerTlsTest.CA;
import static dev.sidecars.runtime.tls.ServerTlsTest.CHECKOUT;
import static dev.sidecars.runtime.tls.ServerTlsTest.CLIENT;
import static dev.sidecars.runtime.tls.ServerTlsTest.PAYMENT;
import static dev.sidecars.runtime.tls.ServerTlsTest.SERVER;
import static dev.sidecars.runtime.tls.ServerTlsTest.STRANGER_CA;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.testing.tls.TestCertificate;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link UpstreamTls} on a real Netty client against real servers ({@link ServerTls} in a Netty server,
 * and plain sockets for the odd ones): name and identity checks, trust, mTLS origination, and each
 * client-side failure counted by reason.
 */
class UpstreamTlsTest {

  @TempDir Path dir;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final HandshakeFailures failures = new HandshakeFailures(meters, System::nanoTime);
  @RegisterExtension final TlsTestServers servers = new TlsTestServers();

  private int startServer(ServerTlsConfig.Mode mode, TestCertificate certificate) throws Exception {
    Path sub = dir.resolve("server-" + System.nanoTime());
    java.nio.file.Files.createDirectories(sub);
    certificate.writeTo(sub.resolve("tls.crt"), sub.resolve("tls.key"));
    CA.writeCertificate(sub.resolve("ca.crt"));
    TlsMaterialSource material = TlsMaterialSource.load(
        TlsFiles.of(sub.resolve("tls.crt"), sub.resolve("tls.key"), sub.resolve("ca.crt")), new SimpleMeterRegistry(),
        Clock.systemUTC());
    return servers.start(ServerTls.create(mode, material, new HandshakeFailures(new SimpleMeterRegistry(),
        System::nanoTime), Duration.ofSeconds(10)));
  }

  private TlsMaterialSource clientMaterial(TestCertificate own, dev.sidecars.testing.tls.TestCa trusted) throws Exception {
    Path sub = dir.resolve("client-" + System.nanoTime());
    java.nio.file.Files.createDirectories(sub);
    trusted.writeCertificate(sub.resolve("ca.crt"));
    TlsFiles files;
    if (own == null) {
      files = TlsFiles.trustOnly(sub.resolve("ca.crt"));
    } else {
      own.writeTo(sub.resolve("tls.crt"), sub.resolve("tls.key"));
      files = TlsFiles.of(sub.resolve("tls.crt"), sub.resolve("tls.key"), sub.resolve("ca.crt"));
    }
    return TlsMaterialSource.load(files, new SimpleMeterRegistry(), Clock.systemUTC());
  }

  private UpstreamTls upstream(UpstreamTlsConfig.Mode mode, TlsMaterialSource material) {
    return UpstreamTls.create(mode, material, failures, Duration.ofSeconds(5));
  }

  /** What one connection got: the handshake's outcome, the peer, and the answer to one GET when it succeeded. */
  private record Outcome(Throwable failure, TlsPeer peer, String body) {}

  private Outcome call(UpstreamTls tls, UpstreamTls.Destination destination, int port) throws Exception {
    AtomicReference<Future<Channel>> handshake = new AtomicReference<>();
    CompletableFuture<String> body = new CompletableFuture<>();
    Channel channel = new Bootstrap().group(TlsTestServers.GROUP).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            handshake.set(tls.initChannel(ch, destination));
            ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(65536),
                new SimpleChannelInboundHandler<FullHttpResponse>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
                    body.complete(response.content().toString(StandardCharsets.UTF_8));
                  }

                  @Override
                  public void channelInactive(ChannelHandlerContext ctx) {
                    body.complete(null);
                  }
                });
          }
        })
        .connect("127.0.0.1", port).sync().channel();
    try {
      Future<Channel> done = handshake.get().await();
      if (!done.isSuccess()) {
        return new Outcome(done.cause(), null, null);
      }
      DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
      request.headers().set(HttpHeaderNames.HOST, destination.host());
      channel.writeAndFlush(request);
      return new Outcome(null, TlsPeer.of(channel).orElseThrow(), body.get(10, TimeUnit.SECONDS));
    } finally {
      channel.close().sync();
    }
  }

  private void awaitCount(HandshakeFailureReason reason, long count) {
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(failures.count(reason)).isEqualTo(count));
  }

  @Test
  void verifiesTheServerAgainstTheBundleAndByTheHostName() throws Exception {
    int port = startServer(ServerTlsConfig.Mode.TLS, SERVER);
    UpstreamTls tls = upstream(UpstreamTlsConfig.Mode.TLS, clientMaterial(null, CA));
    Outcome ok = call(tls, UpstreamTls.Destination.of("localhost", port), port);
    assertThat(ok.failure()).isNull();
    assertThat(ok.peer().identity()).contains(PAYMENT);
    assertThat(ok.body()).contains("protocol=HTTP_1_1");

    Outcome wrongName = call(tls, UpstreamTls.Destination.of("orders.shop.svc", port), port);
    assertThat(wrongName.failure()).isNotNull();
    awaitCount(HandshakeFailureReason.BAD_NAME, 1);
  }

  @Test
  void expectedIdentitiesReplaceTheHostNameCheck() throws Exception {
    int port = startServer(ServerTlsConfig.Mode.TLS, SERVER);
    UpstreamTls tls = upstream(UpstreamTlsConfig.Mode.TLS, clientMaterial(null, CA));
    Outcome ok = call(tls, new UpstreamTls.Destination("payment.shop.svc", port, Set.of(PAYMENT), List.of("h2", "http/1.1")),
        port);
    assertThat(ok.failure()).isNull();
    assertThat(ok.peer().applicationProtocol()).isEqualTo("h2");

    Outcome impostor = call(tls, new UpstreamTls.Destination("localhost", port, Set.of(CHECKOUT), List.of()), port);
    assertThat(impostor.failure()).isNotNull();
    awaitCount(HandshakeFailureReason.BAD_NAME, 1);
  }

  @Test
  void untrustedExpiredAndNotYetValidServersAreRefused() throws Exception {
    UpstreamTls tls = upstream(UpstreamTlsConfig.Mode.TLS, clientMaterial(null, CA));
    int stranger = startServer(ServerTlsConfig.Mode.TLS, STRANGER_CA.leaf().dns("localhost").issue());
    assertThat(call(tls, UpstreamTls.Destination.of("localhost", stranger), stranger).failure()).isNotNull();
    awaitCount(HandshakeFailureReason.UNTRUSTED, 1);
    servers.stopAll();
    int expired = startServer(ServerTlsConfig.Mode.TLS, CA.leaf().dns("localhost").expired().issue());
    assertThat(call(tls, UpstreamTls.Destination.of("localhost", expired), expired).failure()).isNotNull();
    awaitCount(HandshakeFailureReason.EXPIRED, 1);
    servers.stopAll();
    int early = startServer(ServerTlsConfig.Mode.TLS, CA.leaf().dns("localhost").notYetValid().issue());
    assertThat(call(tls, UpstreamTls.Destination.of("localhost", early), early).failure()).isNotNull();
    awaitCount(HandshakeFailureReason.NOT_YET_VALID, 1);
  }

  @Test
  void withoutABundleTheJdkTrustStoreDecides() throws Exception {
    int port = startServer(ServerTlsConfig.Mode.TLS, SERVER);
    UpstreamTls tls = UpstreamTls.create(UpstreamTlsConfig.Mode.OFF, null, failures, Duration.ofSeconds(5));
    assertThat(call(tls, UpstreamTls.Destination.of("localhost", port), port).failure()).isNotNull();
    awaitCount(HandshakeFailureReason.UNTRUSTED, 1); // the test CA is in no public store
  }

  @Test
  void mtlsOriginationPresentsTheSidecarsCertificate() throws Exception {
    int port = startServer(ServerTlsConfig.Mode.MTLS, SERVER);
    UpstreamTls mtls = upstream(UpstreamTlsConfig.Mode.MTLS, clientMaterial(CLIENT, CA));
    Outcome ok = call(mtls, new UpstreamTls.Destination("payment", port, Set.of(PAYMENT), List.of("http/1.1")), port);
    assertThat(ok.failure()).isNull();
    assertThat(ok.body()).contains("identity=" + CHECKOUT, "xfcc=By=" + PAYMENT + ";Hash=");
    assertThat(mtls.upgradesPlainUpstreams()).isTrue();

    // Without mtls the same material presents nothing, and the mtls server refuses the request.
    UpstreamTls oneWay = upstream(UpstreamTlsConfig.Mode.TLS, clientMaterial(CLIENT, CA));
    Outcome refused = call(oneWay, new UpstreamTls.Destination("payment", port, Set.of(PAYMENT), List.of()), port);
    assertThat(refused.body()).isNull();
  }

  @Test
  void aRotatedClientCertificateReachesNewConnections() throws Exception {
    int port = startServer(ServerTlsConfig.Mode.MTLS, SERVER);
    TlsMaterialSource material = clientMaterial(CLIENT, CA);
    UpstreamTls mtls = upstream(UpstreamTlsConfig.Mode.MTLS, material);
    UpstreamTls.Destination payment = new UpstreamTls.Destination("payment", port, Set.of(PAYMENT), List.of("http/1.1"));
    io.netty.handler.ssl.SslContext before = mtls.sslContext(payment);
    assertThat(mtls.sslContext(payment)).as("one context per material and destination kind").isSameAs(before);
    assertThat(call(mtls, payment, port).body()).contains("identity=" + CHECKOUT);

    String cart = "spiffe://cluster.local/ns/shop/sa/cart";
    Path files = material.files().certificate().orElseThrow().getParent();
    CA.leaf().uri(cart).issue().writeTo(files.resolve("tls.crt"), files.resolve("tls.key"));
    material.poll(); // seen changed
    assertThat(material.poll()).as("taken once it read the same twice").isTrue();

    assertThat(mtls.sslContext(payment)).isNotSameAs(before);
    assertThat(call(mtls, payment, port).body()).contains("identity=" + cart);
  }

  @Test
  void aPlaintextAnswerToOurClientHelloIsTlsOnAPlaintextPort() throws Exception {
    try (ServerSocket plain = new ServerSocket(0)) {
      Thread answer = new Thread(() -> {
        try (Socket socket = plain.accept()) {
          socket.getInputStream().read(new byte[512]);
          socket.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
          socket.getOutputStream().flush();
          socket.getInputStream().read(new byte[512]);
        } catch (IOException e) {
          // the client hung up
        }
      }, "plain-server");
      answer.start();
      UpstreamTls tls = upstream(UpstreamTlsConfig.Mode.TLS, clientMaterial(null, CA));
      assertThat(call(tls, UpstreamTls.Destination.of("localhost", plain.getLocalPort()), plain.getLocalPort())
          .failure()).isNotNull();
      awaitCount(HandshakeFailureReason.TLS_ON_PLAINTEXT_PORT, 1);
      answer.join(10_000);
    }
  }

  @Test
  void aServerThatNeverAnswersTimesOut() throws Exception {
    try (ServerSocket silent = new ServerSocket(0)) {
      UpstreamTls tls = UpstreamTls.create(UpstreamTlsConfig.Mode.TLS, clientMaterial(null, CA), failures,
          Duration.ofMillis(300));
      assertThat(call(tls, UpstreamTls.Destination.of("localhost", silent.getLocalPort()), silent.getLocalPort())
          .failure()).isNotNull();
      awaitCount(HandshakeFailureReason.TIMEOUT, 1);
    }
  }
}
