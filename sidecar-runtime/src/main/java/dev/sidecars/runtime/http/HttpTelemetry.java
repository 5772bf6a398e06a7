package dev.sidecars.runtime.http;

import dev.sidecars.runtime.propagation.Propagation;
import dev.sidecars.runtime.rpc.GrpcCall;
import dev.sidecars.runtime.rpc.GrpcStatus;
import dev.sidecars.runtime.rpc.RpcMetrics;
import dev.sidecars.runtime.tls.TlsPeer;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * What a proxy records per exchange, whatever serves it: one span, one set of {@link HttpMetrics}
 * measurements and one {@link AccessLog} line. The HTTP server at hand reads the request's values and
 * headers and calls {@link #start}, then {@link Recording#finish} once the exchange is over; both proxies go
 * through here (the Netty data plane's {@code TelemetryHandler}), so spans, metrics and log lines are the
 * same whichever served them.
 *
 * <p>The span's kind and the metrics' names follow {@link HttpMetrics#side()}: SERVER for an ingress proxy
 * (labelled by route), CLIENT for an egress proxy (labelled by the upstream it picked). Server spans are
 * errors on 5xx, client spans on 4xx and 5xx, as the conventions say.
 *
 * <p>A gRPC call ({@link GrpcCall}) follows the RPC conventions instead (v1.37): its span is named {@code
 * package.Service/Method} and carries {@code rpc.system=grpc}, {@code rpc.service}, {@code rpc.method} and
 * {@code rpc.grpc.status_code} besides the HTTP attributes, is an error for the codes {@link
 * GrpcStatus#isError} names, and the call is also recorded in {@link RpcMetrics}, its service and method
 * folded into {@code _OTHER} on the server side unless its path matches a route template.
 */
public final class HttpTelemetry {
  private static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  private static final AttributeKey<String> METHOD_ORIGINAL = AttributeKey.stringKey("http.request.method_original");
  private static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
  private static final AttributeKey<String> SCHEME = AttributeKey.stringKey("url.scheme");
  private static final AttributeKey<String> ROUTE = AttributeKey.stringKey("http.route");
  private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  private static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  private static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  private static final AttributeKey<String> CLIENT_ADDRESS = AttributeKey.stringKey("client.address");
  private static final AttributeKey<String> USER_AGENT = AttributeKey.stringKey("user_agent.original");
  private static final AttributeKey<String> PROTOCOL_VERSION = AttributeKey.stringKey("network.protocol.version");
  private static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  private static final AttributeKey<Long> REQUEST_SIZE = AttributeKey.longKey("http.request.body.size");
  private static final AttributeKey<Long> RESPONSE_SIZE = AttributeKey.longKey("http.response.body.size");
  private static final AttributeKey<String> RPC_SYSTEM = AttributeKey.stringKey("rpc.system");
  private static final AttributeKey<String> RPC_SERVICE = AttributeKey.stringKey("rpc.service");
  private static final AttributeKey<String> RPC_METHOD = AttributeKey.stringKey("rpc.method");
  private static final AttributeKey<Long> RPC_GRPC_STATUS = AttributeKey.longKey("rpc.grpc.status_code");
  private static final AttributeKey<String> TLS_PROTOCOL_NAME = AttributeKey.stringKey("tls.protocol.name");
  private static final AttributeKey<String> TLS_PROTOCOL_VERSION = AttributeKey.stringKey("tls.protocol.version");
  private static final AttributeKey<String> TLS_CIPHER = AttributeKey.stringKey("tls.cipher");
  private static final AttributeKey<String> TLS_CLIENT_SUBJECT = AttributeKey.stringKey("tls.client.subject");
  private static final AttributeKey<String> TLS_CLIENT_HASH = AttributeKey.stringKey("tls.client.hash.sha256");
  private static final AttributeKey<String> TLS_SERVER_SUBJECT = AttributeKey.stringKey("tls.server.subject");
  /** The peer's workload identity (its certificate's first URI SAN, else DNS SAN, else CN); not a convention. */
  public static final AttributeKey<String> PEER_IDENTITY = AttributeKey.stringKey("sidecar.peer.identity");

  private final Tracer tracer;
  private final Propagation propagation;
  private final HttpMetrics metrics;
  private final RouteTemplates routes;
  private final AccessLog accessLog;
  private final SpanKind kind;
  private final RpcMetrics rpcMetrics;

  /**
   * @param routes the route templates (server side; ignored on the client side)
   * @param accessLog where lines go, or {@link AccessLog#off()}
   */
  public HttpTelemetry(Tracer tracer, Propagation propagation, HttpMetrics metrics, RouteTemplates routes, AccessLog accessLog) {
    this(tracer, propagation, metrics, null, routes, accessLog);
  }

  /** @param rpcMetrics where gRPC calls are recorded as well, or {@code null} */
  public HttpTelemetry(Tracer tracer, Propagation propagation, HttpMetrics metrics, RpcMetrics rpcMetrics,
      RouteTemplates routes, AccessLog accessLog) {
    this.rpcMetrics = rpcMetrics;
    this.tracer = tracer;
    this.propagation = propagation;
    this.metrics = metrics;
    this.routes = routes;
    this.accessLog = accessLog;
    this.kind = metrics.side() == HttpMetrics.Side.SERVER ? SpanKind.SERVER : SpanKind.CLIENT;
  }

  /** The propagation formats the caller extracts the parent with and injects the span's context in. */
  public Propagation propagation() {
    return propagation;
  }

  /** What the request said, as the server read it. */
  public record Request(
      String method,
      String path,
      String scheme,
      String protocolVersion,
      String serverAddress,
      int serverPort,
      String clientAddress,
      String userAgent) {}

  /**
   * Starts the span, the child of {@code parent} (the context the request carried), and counts the
   * exchange as active. The caller injects {@link Recording#context()} into the request it passes on.
   */
  public Recording start(Request request, Context parent, long startNanos) {
    return start(request, null, parent, startNanos);
  }

  /** As {@link #start(Request, Context, long)}, for a gRPC call when {@code rpc} is not {@code null}. */
  public Recording start(Request request, GrpcCall rpc, Context parent, long startNanos) {
    String rawMethod = request.method();
    String method = HttpMethods.normalize(rawMethod);
    Optional<String> route = kind == SpanKind.SERVER ? routes.match(request.path()) : Optional.empty();
    String spanMethod = method.equals(HttpMethods.OTHER) ? "HTTP" : method;
    SpanBuilder builder =
        tracer
            .spanBuilder(rpc != null ? rpc.fullMethod() : route.map(r -> spanMethod + " " + r).orElse(spanMethod))
            .setSpanKind(kind)
            .setParent(parent)
            .setAttribute(METHOD, method)
            .setAttribute(PATH, request.path())
            .setAttribute(SCHEME, request.scheme())
            .setAttribute(PROTOCOL_VERSION, request.protocolVersion());
    if (method.equals(HttpMethods.OTHER)) {
      builder.setAttribute(METHOD_ORIGINAL, rawMethod);
    }
    route.ifPresent(r -> builder.setAttribute(ROUTE, r));
    if (rpc != null) {
      builder.setAttribute(RPC_SYSTEM, "grpc").setAttribute(RPC_SERVICE, rpc.service()).setAttribute(RPC_METHOD, rpc.method());
    }
    if (kind == SpanKind.SERVER) {
      builder.setAttribute(SERVER_ADDRESS, request.serverAddress()).setAttribute(SERVER_PORT, (long) request.serverPort());
      if (request.clientAddress() != null) {
        builder.setAttribute(CLIENT_ADDRESS, request.clientAddress());
      }
    }
    if (request.userAgent() != null) {
      builder.setAttribute(USER_AGENT, request.userAgent());
    }
    Span span = propagation.hop(builder.startSpan(), parent);
    metrics.started();
    return new Recording(request, rpc, span, parent.with(span), route.orElse(RouteTemplates.UNMATCHED), startNanos);
  }

  /** One exchange being recorded. */
  public final class Recording {
    private final Request request;
    private final GrpcCall rpc;
    private final Span span;
    private final Context context;
    private final String route;
    private final long startNanos;
    private String peerIdentity;
    private long messagesIn = -1;
    private long messagesOut = -1;

    private Recording(Request request, GrpcCall rpc, Span span, Context context, String route, long startNanos) {
      this.request = request;
      this.rpc = rpc;
      this.span = span;
      this.context = context;
      this.route = route;
      this.startNanos = startNanos;
    }

    /** The parent context with this exchange's span: what the next hop continues. */
    public Context context() {
      return context;
    }

    /**
     * Records what the connection's TLS handshake established: the {@code tls.*} attributes of the
     * conventions and the peer's identity ({@link #PEER_IDENTITY}, also the access log's {@code peer}).
     * On a server span the peer is the client; on a client span, the server.
     */
    public void tls(TlsPeer tls) {
      span.setAttribute(TLS_PROTOCOL_NAME, "tls");
      String version = tls.protocol();
      span.setAttribute(TLS_PROTOCOL_VERSION, version.startsWith("TLSv") ? version.substring(4) : version);
      span.setAttribute(TLS_CIPHER, tls.cipherSuite());
      tls.peer().ifPresent(peer -> {
        peerIdentity = peer.identity();
        span.setAttribute(PEER_IDENTITY, peer.identity());
        if (kind == SpanKind.SERVER) {
          span.setAttribute(TLS_CLIENT_SUBJECT, peer.subject());
          span.setAttribute(TLS_CLIENT_HASH, peer.sha256().toUpperCase(Locale.ROOT));
        } else {
          span.setAttribute(TLS_SERVER_SUBJECT, peer.subject());
        }
      });
    }

    /**
     * The gRPC messages of the call, counted by the proxy: sent by the caller ({@code in}) and answered
     * ({@code out}); recorded in {@link RpcMetrics} when the call ends. -1 for a count not taken.
     */
    public void messages(long in, long out) {
      messagesIn = in;
      messagesOut = out;
    }

    public void recordException(Throwable e) {
      span.recordException(e);
    }

    /**
     * Ends the span, records the metrics (with the span's context current, for exemplars) and writes the
     * access-log line.
     *
     * @param flag why the proxy answered itself, or {@code null}
     * @param target the upstream picked (client side), or {@code null}
     * @param bytesIn request body bytes, or -1 when unknown
     * @param upstreamNanos time since the upstream connection was obtained, or -1 when there was none
     */
    public void finish(int status, ResponseFlag flag, String target, long bytesIn, long bytesOut, long endNanos, long upstreamNanos) {
      finish(status, flag, target, bytesIn, bytesOut, endNanos, upstreamNanos, -1);
    }

    /**
     * As {@link #finish(int, ResponseFlag, String, long, long, long, long)}, with the gRPC status the call
     * ended with ({@code grpc-status} of the trailers, or of the head of a trailers-only answer), or -1 when
     * none came (then it is inferred from the flag and the HTTP status). Ignored for a request that is not gRPC.
     */
    public void finish(int status, ResponseFlag flag, String target, long bytesIn, long bytesOut, long endNanos, long upstreamNanos,
        int grpcStatus) {
      long duration = endNanos - startNanos;
      String label = kind == SpanKind.SERVER ? route : target != null ? target : RouteTemplates.UNMATCHED;
      span.setAttribute(STATUS, (long) status);
      if (bytesIn >= 0) {
        span.setAttribute(REQUEST_SIZE, bytesIn);
      }
      span.setAttribute(RESPONSE_SIZE, bytesOut);
      if (kind == SpanKind.CLIENT && target != null) {
        span.setAttribute(SERVER_ADDRESS, target);
      }
      int code = -1;
      boolean error;
      if (rpc != null) {
        code = grpcStatus >= 0 ? grpcStatus
            : flag != null ? GrpcStatus.forProxyAnswer(flag, status)
            : status == 200 ? GrpcStatus.UNKNOWN : GrpcStatus.forHttpStatus(status);
        span.setAttribute(RPC_GRPC_STATUS, (long) code);
        error = GrpcStatus.isError(code, kind == SpanKind.SERVER);
      } else {
        error = status >= 500 || (kind == SpanKind.CLIENT && status >= 400);
      }
      if (flag != null && flag.isUpstreamFailure() || error) {
        span.setAttribute(ERROR_TYPE, flag != null ? flag.errorType() : rpc != null ? GrpcStatus.name(code) : Integer.toString(status));
        span.setStatus(StatusCode.ERROR);
      }
      try (Scope ignored = context.makeCurrent()) {
        metrics.record(request.method(), status, label, duration, bytesIn, bytesOut);
        if (rpc != null && rpcMetrics != null) {
          // Server side: only calls whose path a route template names keep their names (bounded like http.route).
          boolean known = kind != SpanKind.SERVER || !route.equals(RouteTemplates.UNMATCHED);
          rpcMetrics.record(known ? rpc.service() : GrpcCall.UNKNOWN, known ? rpc.method() : GrpcCall.UNKNOWN, code, duration,
              messagesIn, messagesOut);
        }
      } finally {
        metrics.finished();
        span.end();
      }
      if (accessLog.enabled()) {
        SpanContext sc = span.getSpanContext();
        accessLog.log(
            new AccessLog.Entry(
                Instant.now(),
                request.method(),
                request.path(),
                kind == SpanKind.SERVER ? "route" : "upstream",
                label,
                status,
                flag,
                duration / 1e6,
                upstreamNanos / 1e6,
                bytesIn,
                bytesOut,
                sc.isValid() ? sc.getTraceId() : null,
                sc.isValid() ? sc.getSpanId() : null,
                request.clientAddress(),
                request.userAgent(),
                peerIdentity));
      }
    }
  }
}
