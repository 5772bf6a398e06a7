package dev.sidecars.runtime.tls;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A real Netty HTTP server behind {@link ServerTls}, the way the ingress listener will use it: HTTP/2 or
 * HTTP/1.1 after ALPN, HTTP/1.1 on cleartext. Each answer tells what the connection established:
 * {@code protocol=H2}, {@code identity=<peer identity or ->}, and {@code xfcc=<the header the app would
 * see>} after {@link ForwardedClientCert#replace}.
 */
final class TlsTestServer implements AutoCloseable {
  private final Channel channel;

  TlsTestServer(EventLoopGroup group, ServerTls tls) throws InterruptedException {
    channel = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            tls.initChannel(ch, (pipeline, protocol) -> {
              if (protocol == ServerTls.Protocol.H2) {
                pipeline.addLast(Http2FrameCodecBuilder.forServer().build());
                pipeline.addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                  @Override
                  protected void initChannel(Http2StreamChannel stream) {
                    stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true),
                        new HttpObjectAggregator(65536), new Answer(protocol));
                  }
                }));
              } else {
                pipeline.addLast(new HttpServerCodec(), new HttpObjectAggregator(65536), new Answer(protocol));
              }
            });
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
  }

  int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
  }

  private static final class Answer extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final ServerTls.Protocol protocol;

    Answer(ServerTls.Protocol protocol) {
      this.protocol = protocol;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      TlsPeer tls = TlsPeer.of(ctx.channel()).orElse(null);
      PeerCertificate client = tls == null ? null : tls.peer().orElse(null);
      String by = tls == null ? null : tls.local().map(PeerCertificate::identity).orElse(null);
      ForwardedClientCert.replace(request.headers(), client, by);
      String body = "protocol=" + protocol
          + "\nidentity=" + (client == null ? "-" : client.identity())
          + "\nxfcc=" + String.join(" | ", request.headers().getAll(ForwardedClientCert.NAME)) + "\n";
      FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
          Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
      HttpUtil.setContentLength(response, response.content().readableBytes());
      if (HttpUtil.isKeepAlive(request)) {
        ctx.writeAndFlush(response);
      } else {
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      }
    }
  }
}
