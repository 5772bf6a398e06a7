package dev.sidecars.runtime.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The admin port every sidecar has: {@code /healthz}, {@code /readyz}, {@code /metrics} (Prometheus
 * text 0.0.4, or OpenMetrics when the scraper asks for it), {@code POST /shutdown} from loopback, never
 * through a proxy, and {@code /} listing them.
 *
 * <p>Served by Netty on one thread of its own: the proxies' data plane already loads Netty, so the admin
 * port adds no second server stack (classes, threads, buffer pools) to a sidecar's footprint. A scrape
 * runs on that thread; nothing else waits behind it.
 */
public final class AdminServer implements AutoCloseable {
  static final String TEXT_004 = "text/plain; version=0.0.4; charset=utf-8";
  static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
  /** Requests to the admin port are bodiless; anything larger is refused with 413. */
  private static final int MAX_REQUEST_BODY = 64 * 1024;
  /** A connection that sends nothing for this long is closed (a scraper keeps its connection busier). */
  private static final int IDLE_SECONDS = 60;

  private final EventLoopGroup group;
  private final Channel listener;
  private final int port;

  private AdminServer(EventLoopGroup group, Channel listener) {
    this.group = group;
    this.listener = listener;
    this.port = ((InetSocketAddress) listener.localAddress()).getPort();
  }

  /** One endpoint, as {@code /} lists it. */
  record Endpoint(String method, String path, String answer) {}

  /** What {@code /} lists, in this order. */
  static final List<Endpoint> ENDPOINTS = List.of(
      new Endpoint("GET", "/metrics",
          "Prometheus text format 0.0.4; OpenMetrics 1.0 when Accept asks for application/openmetrics-text"),
      new Endpoint("GET", "/healthz", "200 while the process is alive"),
      new Endpoint("GET", "/readyz", "200 when ready to work, else 503 with the reason"),
      new Endpoint("POST", "/shutdown", "202, then the same stop as SIGTERM (from loopback only, not through a proxy)"),
      new Endpoint("GET", "/", "this list; JSON when Accept asks for application/json"));

  /** Starts listening now, titling {@code /} with the admin port's sidecar as {@code admin}. */
  public static AdminServer start(
      String host,
      int port,
      PrometheusMeterRegistry registry,
      Readiness readiness,
      Runnable onShutdown) {
    return start(host, port, registry, readiness, onShutdown, "admin");
  }

  /**
   * Starts listening now.
   *
   * @param readiness the component's own check; {@code /readyz} also turns 503 once {@code stopping} says so
   * @param onShutdown what {@code POST /shutdown} runs (the lifecycle's exit)
   * @param title who this admin port belongs to, for {@code /}: e.g. {@code metrics-proxy 0.1.0}
   */
  public static AdminServer start(
      String host,
      int port,
      PrometheusMeterRegistry registry,
      Readiness readiness,
      Runnable onShutdown,
      String title) {
    Routes routes = new Routes(registry, readiness, onShutdown, title);
    EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("admin", true), NioIoHandler.newFactory());
    ChannelFuture bound =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel channel) {
                    channel.pipeline()
                        .addLast(new IdleStateHandler(IDLE_SECONDS, 0, 0))
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpServerKeepAliveHandler())
                        .addLast(new HttpObjectAggregator(MAX_REQUEST_BODY))
                        .addLast(routes);
                  }
                })
            .bind(host, port)
            .awaitUninterruptibly();
    if (!bound.isSuccess()) {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      // Unchecked, with the cause kept: the caller tells a taken port (BindException) from other failures.
      Throwable cause = bound.cause();
      throw cause instanceof IOException io
          ? new UncheckedIOException("admin port " + host + ":" + port + ": " + io.getMessage(), io)
          : new IllegalStateException("admin port " + host + ":" + port, cause);
    }
    return new AdminServer(group, bound.channel());
  }

  public int port() {
    return port;
  }

  @Override
  public void close() {
    listener.close().syncUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** The endpoints; one instance serves every connection (it keeps no per-connection state). */
  @ChannelHandler.Sharable
  private static final class Routes extends SimpleChannelInboundHandler<FullHttpRequest> {
    /**
     * Only a not-ready answer needs it; built on first use, as Jackson's databind takes about a tenth of a
     * second to load and would otherwise delay every start.
     */
    private static final class Json {
      static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private final PrometheusMeterRegistry registry;
    private final Readiness readiness;
    private final Runnable onShutdown;
    private final String title;

    Routes(PrometheusMeterRegistry registry, Readiness readiness, Runnable onShutdown, String title) {
      this.registry = registry;
      this.readiness = readiness;
      this.onShutdown = onShutdown;
      this.title = title;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) throws IOException {
      if (!request.decoderResult().isSuccess()) {
        FullHttpResponse response = json(400, "{\"error\":\"bad request\"}");
        HttpUtil.setKeepAlive(response, false);
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      FullHttpResponse response = answer(ctx, request);
      if (HttpMethod.HEAD.equals(request.method())) {
        // The headers a GET would have, Content-Length included, and no body.
        FullHttpResponse get = response;
        response = get.replace(Unpooled.EMPTY_BUFFER);
        get.release();
      }
      ctx.writeAndFlush(response);
    }

    private FullHttpResponse answer(ChannelHandlerContext ctx, FullHttpRequest request) throws IOException {
      String path = new QueryStringDecoder(request.uri()).path();
      HttpMethod method = request.method();
      HttpHeaders headers = request.headers();
      switch (path) {
        case "/healthz":
          return allowed(method, HttpMethod.GET, HttpMethod.HEAD).orElseGet(() -> json(200, "{\"status\":\"ok\"}"));
        case "/readyz":
          return allowed(method, HttpMethod.GET, HttpMethod.HEAD).orElseGet(() -> {
            Optional<String> reason = readiness.notReadyReason();
            return reason.isEmpty() ? json(200, "{\"status\":\"ready\"}") : json(503, notReady(reason.get()));
          });
        case "/metrics":
          Optional<FullHttpResponse> refused = allowed(method, HttpMethod.GET, HttpMethod.HEAD);
          return refused.isPresent() ? refused.get() : metrics(ctx, headers);
        case "/shutdown":
          return allowed(method, HttpMethod.POST).orElseGet(() -> shutdown(ctx, headers));
        case "/":
        case "":
          return allowed(method, HttpMethod.GET, HttpMethod.HEAD).orElseGet(() -> index(headers));
        default:
          return json(404, "{\"error\":\"not found; GET / lists the endpoints\"}");
      }
    }

    /** The endpoints, as text for a person with curl, or as JSON for a program that asks for it. */
    private FullHttpResponse index(HttpHeaders headers) {
      String accept = headers.get(HttpHeaderNames.ACCEPT);
      if (accept != null && accept.contains("application/json")) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("title", title);
        body.put("endpoints", ENDPOINTS);
        try {
          return json(200, Json.MAPPER.writeValueAsString(body));
        } catch (JsonProcessingException e) {
          throw new IllegalStateException(e);
        }
      }
      StringBuilder text = new StringBuilder(title).append(": admin endpoints\n");
      for (Endpoint e : ENDPOINTS) {
        text.append(String.format("  %-4s %-9s  %s%n", e.method(), e.path(), e.answer()));
      }
      return text(HttpResponseStatus.OK, "text/plain; charset=utf-8", text.toString());
    }

    private FullHttpResponse metrics(ChannelHandlerContext ctx, HttpHeaders headers) throws IOException {
      String accept = headers.get(HttpHeaderNames.ACCEPT);
      String contentType =
          accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS : TEXT_004;
      ByteBuf body = ctx.alloc().heapBuffer(16 * 1024);
      try (ByteBufOutputStream out = new ByteBufOutputStream(body)) {
        registry.scrape(out, contentType);
      } catch (IOException | RuntimeException e) {
        body.release();
        throw e;
      }
      return response(HttpResponseStatus.OK, contentType, body);
    }

    private FullHttpResponse shutdown(ChannelHandlerContext ctx, HttpHeaders headers) {
      InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
      if (peer == null || peer.getAddress() == null || !peer.getAddress().isLoopbackAddress()) {
        return json(403, "{\"error\":\"shutdown is accepted from loopback only\"}");
      }
      if (cameThroughAProxy(headers)) {
        // Loopback, but relayed: a proxy of the pod (the suite's add Via or X-Forwarded-For) passed on a
        // request from elsewhere, which must not stop the pod's sidecars.
        return json(403, "{\"error\":\"shutdown is not accepted through a proxy\"}");
      }
      // On a thread of its own: the stop closes this server, which must not wait on its own event loop.
      Thread stopper = new Thread(onShutdown, "admin-shutdown");
      stopper.setDaemon(true);
      stopper.start();
      return json(202, "{\"status\":\"shutting down\"}");
    }

    private static boolean cameThroughAProxy(HttpHeaders headers) {
      return headers.contains(HttpHeaderNames.VIA)
          || headers.contains("X-Forwarded-For")
          || headers.contains("Forwarded");
    }

    /** Empty when {@code method} is one of {@code allowed}; else the 405 naming them in Allow. */
    private static Optional<FullHttpResponse> allowed(HttpMethod method, HttpMethod... allowed) {
      StringBuilder allow = new StringBuilder();
      for (HttpMethod a : allowed) {
        if (a.equals(method)) {
          return Optional.empty();
        }
        allow.append(allow.length() == 0 ? "" : ", ").append(a.name());
      }
      FullHttpResponse response = json(405, "{\"error\":\"method not allowed\"}");
      response.headers().set(HttpHeaderNames.ALLOW, allow.toString());
      return Optional.of(response);
    }

    private static String notReady(String reason) {
      try {
        return Json.MAPPER.writeValueAsString(Map.of("status", "not ready", "reason", reason));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    private static FullHttpResponse json(int status, String body) {
      return text(HttpResponseStatus.valueOf(status), "application/json", body);
    }

    private static FullHttpResponse text(HttpResponseStatus status, String contentType, String body) {
      return response(status, contentType, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    }

    private static FullHttpResponse response(HttpResponseStatus status, String contentType, ByteBuf body) {
      FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
      response.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, contentType)
          .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
      return response;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
      if (event instanceof IdleStateEvent) {
        ctx.close();
      } else {
        super.userEventTriggered(ctx, event);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A connection reset, or a scrape that failed: the connection goes, the admin port stays.
      if (!(cause instanceof IOException) && ctx.channel().isActive()) {
        FullHttpResponse response = json(500, "{\"error\":\"internal error\"}");
        HttpUtil.setKeepAlive(response, false);
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      } else {
        ctx.close();
      }
    }
  }
}
