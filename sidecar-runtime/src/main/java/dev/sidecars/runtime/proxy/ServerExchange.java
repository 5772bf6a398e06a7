package dev.sidecars.runtime.proxy;

import dev.sidecars.runtime.http.ResponseFlag;
import dev.sidecars.runtime.rpc.GrpcStatus;
import dev.sidecars.runtime.tls.TlsPeer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One exchange on a client connection (HTTP/1.1) or stream (HTTP/2): the {@link ProxyExchange} the
 * decorators see, and the two ends the forwarding side drives. The request body waits (reading paused)
 * until the upstream is ready; then each piece goes to the {@link RequestSink} as it comes. The response
 * goes to the client as the upstream sends it, through the response-head listeners.
 */
final class ServerExchange implements ProxyExchange {
  private static final Logger LOG = Logger.getLogger(ServerExchange.class.getName());
  /** The status recorded for a request whose client went away before it was answered (nginx's 499). */
  static final int CLIENT_CLOSED_REQUEST = 499;

  private final DownstreamHandler down;
  private final HttpRequest request;
  private final boolean http2;
  private final long startNanos;
  private final boolean clientKeepAlive;
  private final boolean http10;

  private boolean requestComplete;
  private boolean requestFailed;
  private long requestBytes;
  private long lastRequestActivity;
  private ArrayDeque<HttpContent> pending;
  private RequestSink sink;

  private int status;
  private boolean responseStarted;
  private boolean responseComplete;
  private boolean closeConnection;
  private boolean complete;
  private boolean tunnel;
  private long responseBytes;
  private HttpHeaders trailers;
  private HttpHeaders responseHeaders;

  private ResponseFlag flag;
  private long upstreamStartNanos;
  private boolean upstreamResponded;
  private String target;
  private TlsPeer upstreamTls;

  private List<ResponseHeadListener> headListeners;
  private List<RequestBodyListener> bodyListeners;
  private GrpcMessageCounter messagesIn;
  private GrpcMessageCounter messagesOut;
  private List<Runnable> completeListeners;

  ServerExchange(DownstreamHandler down, HttpRequest request, boolean http2, long startNanos) {
    this.down = down;
    this.request = request;
    this.http2 = http2;
    this.startNanos = startNanos;
    this.clientKeepAlive = http2 || HttpUtil.isKeepAlive(request);
    // A head the decoder could not read says HTTP/1.0 whatever was sent: the refusal goes out as HTTP/1.1.
    this.http10 = request.protocolVersion() == HttpVersion.HTTP_1_0 && request.decoderResult().isSuccess();
    this.lastRequestActivity = startNanos;
  }

  // --- ProxyExchange ---

  @Override
  public HttpRequest request() {
    return request;
  }

  @Override
  public String protocolVersion() {
    return http2 ? "2" : http10 ? "1.0" : "1.1";
  }

  @Override
  public boolean isHttp2() {
    return http2;
  }

  @Override
  public String scheme() {
    return down.scheme();
  }

  @Override
  public Optional<TlsPeer> tls() {
    return down.tls();
  }

  @Override
  public Optional<TlsPeer> upstreamTls() {
    return Optional.ofNullable(upstreamTls);
  }

  /** The upstream connection's TLS, when the stream the exchange was given runs over TLS. */
  void upstreamTls(TlsPeer tls) {
    upstreamTls = tls;
  }

  @Override
  public InetSocketAddress clientAddress() {
    return down.clientAddress();
  }

  @Override
  public InetSocketAddress localAddress() {
    return down.localAddress();
  }

  @Override
  public EventLoop eventLoop() {
    return down.eventLoop();
  }

  @Override
  public long startNanos() {
    return startNanos;
  }

  @Override
  public long requestBodyBytes() {
    return requestBytes;
  }

  @Override
  public long responseBodyBytes() {
    return responseBytes;
  }

  @Override
  public boolean requestComplete() {
    return requestComplete;
  }

  @Override
  public long requestBodyWaitNanos(long nowNanos) {
    if (requestComplete || complete || down.paused()) {
      return 0;
    }
    return Math.max(0, nowNanos - Math.max(lastRequestActivity, down.resumedAt()));
  }

  @Override
  public boolean responseStarted() {
    return responseStarted;
  }

  @Override
  public int status() {
    return status;
  }

  @Override
  public HttpHeaders responseHeaders() {
    return responseHeaders;
  }

  @Override
  public HttpHeaders responseTrailers() {
    return trailers;
  }

  @Override
  public boolean isComplete() {
    return complete;
  }

  @Override
  public void flag(ResponseFlag value) {
    if (flag == null) {
      flag = value;
    }
  }

  @Override
  public void replaceFlag(ResponseFlag value) {
    flag = value;
  }

  @Override
  public ResponseFlag flag() {
    return flag;
  }

  @Override
  public void upstreamStarted(long nanos) {
    if (upstreamStartNanos == 0) {
      upstreamStartNanos = nanos;
    }
  }

  @Override
  public long upstreamNanos(long endNanos) {
    return upstreamStartNanos == 0 ? -1 : endNanos - upstreamStartNanos;
  }

  boolean hasUpstream() {
    return upstreamStartNanos != 0;
  }

  @Override
  public boolean upstreamResponded() {
    return upstreamResponded;
  }

  @Override
  public void target(String address) {
    target = address;
  }

  @Override
  public String target() {
    return target;
  }

  @Override
  public void onResponseHead(ResponseHeadListener listener) {
    if (headListeners == null) {
      headListeners = new ArrayList<>(2);
    }
    headListeners.add(listener);
  }

  @Override
  public void onRequestBody(RequestBodyListener listener) {
    if (bodyListeners == null) {
      bodyListeners = new ArrayList<>(2);
    }
    bodyListeners.add(listener);
  }

  @Override
  public void countGrpcMessages() {
    if (messagesIn == null) {
      messagesIn = new GrpcMessageCounter();
      messagesOut = new GrpcMessageCounter();
    }
  }

  @Override
  public long grpcMessagesIn() {
    return messagesIn == null ? -1 : messagesIn.messages();
  }

  @Override
  public long grpcMessagesOut() {
    return messagesOut == null ? -1 : messagesOut.messages();
  }

  @Override
  public void onComplete(Runnable listener) {
    if (completeListeners == null) {
      completeListeners = new ArrayList<>(3);
    }
    completeListeners.add(listener);
  }

  @Override
  public void closeConnection() {
    if (!http2) {
      closeConnection = true;
    }
  }

  boolean closesConnection() {
    return closeConnection;
  }

  @Override
  public void respond(int code, String reason, HttpHeaders headers) {
    if (complete || responseStarted) {
      return;
    }
    byte[] text = (reason + "\n").getBytes(StandardCharsets.UTF_8);
    boolean head = request.method() == HttpMethod.HEAD;
    FullHttpResponse answer = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code),
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(text));
    if (headers != null) {
      answer.headers().add(headers);
    }
    answer.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, TEXT_PLAIN)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, text.length);
    if (!requestComplete) {
      // The rest of the request is not read: nothing after it on this connection can be trusted.
      closeConnection();
    }
    sendResponseHead(answer);
    responseBytes += answer.content().readableBytes();
    down.write(answer, true);
    responseComplete = true;
    maybeComplete();
  }

  private static final String TEXT_PLAIN = "text/plain; charset=utf-8";

  @Override
  public void fail(ResponseFlag reason, int code, String text) {
    if (complete) {
      return;
    }
    flag(reason);
    failRequest();
    if (!responseStarted) {
      closeConnection();
      respond(code, text, null);
    } else if (reason == ResponseFlag.UPSTREAM_TIMEOUT && grpcStreamBetweenMessages()) {
      // A deadline that passes between two messages of a gRPC stream ends it in trailers, as the app's own
      // deadline would: DEADLINE_EXCEEDED. A reset would reach the client as INTERNAL.
      LastHttpContent end = new DefaultLastHttpContent();
      end.trailingHeaders()
          .set(GrpcAnswers.GRPC_STATUS, Integer.toString(GrpcStatus.forProxyAnswer(reason, code)))
          .set(GrpcAnswers.GRPC_MESSAGE, GrpcStatus.encodeMessage("proxy: " + text));
      sendResponseEnd(end);
    } else {
      cutDownstream();
    }
  }

  private boolean grpcStreamBetweenMessages() {
    return http2 && !responseComplete && messagesOut != null && messagesOut.atMessageBoundary();
  }

  @Override
  public void refuseStream(String reason) {
    if (complete || responseStarted) {
      return;
    }
    if (!http2) {
      closeConnection();
      respond(503, reason, null);
      return;
    }
    status = 503;
    failRequest();
    down.refuseStream();
    finish();
  }

  /** Drops what is left of the request and cuts the upstream mid-request. */
  private void failRequest() {
    requestFailed = true;
    releasePending();
    RequestSink s = sink;
    if (s != null) {
      s.abortUpstream();
    }
  }

  // --- request side, from the client ---

  /** The next piece of request body from the client; this exchange owns it. */
  void requestContent(HttpContent content) {
    if (content.decoderResult().isFailure()) {
      content.release();
      requestComplete = true; // nothing more comes: the decoder discards the rest
      fail(ResponseFlag.BAD_REQUEST, 400, "malformed request body");
      return;
    }
    if (requestFailed || complete) {
      if (content instanceof LastHttpContent) {
        requestComplete = true;
      }
      content.release();
      maybeComplete();
      return;
    }
    int bytes = content.content().readableBytes();
    requestBytes += bytes;
    if (messagesIn != null) {
      messagesIn.consume(content.content());
    }
    lastRequestActivity = System.nanoTime();
    boolean last = content instanceof LastHttpContent;
    if (last) {
      requestComplete = true;
    }
    if (bodyListeners != null) {
      for (int i = 0; i < bodyListeners.size(); i++) {
        bodyListeners.get(i).onRequestBody(this, bytes, last);
        if (requestFailed || complete) {
          content.release();
          return;
        }
      }
    }
    RequestSink s = sink;
    if (s != null) {
      s.requestContent(content);
    } else {
      if (pending == null) {
        pending = new ArrayDeque<>(4);
      }
      pending.add(content);
      down.pause(DownstreamHandler.PAUSE_WAITING_UPSTREAM);
    }
    if (last) {
      maybeComplete();
    }
  }

  /** The client's read batch is over. */
  void readComplete() {
    RequestSink s = sink;
    if (s != null) {
      s.requestFlush();
    }
  }

  /** Raw bytes from the client of a tunnel (after an upgrade). */
  void tunnelBytes(ByteBuf bytes) {
    RequestSink s = sink;
    if (s == null || complete) {
      bytes.release();
    } else {
      s.tunnelBytes(bytes);
    }
  }

  /** The client's side can take more (or not). */
  void downstreamWritable(boolean writable) {
    RequestSink s = sink;
    if (s != null) {
      s.downstreamWritable(writable);
    }
  }

  /** The client went away (its connection closed, or it reset its stream). */
  void downstreamClosed() {
    if (complete) {
      return;
    }
    if (!responseComplete || !requestComplete) {
      flag(ResponseFlag.CLIENT_DISCONNECTED);
    }
    if (!responseStarted) {
      status = CLIENT_CLOSED_REQUEST;
    }
    failRequest();
    finish();
  }

  // --- driven by the forwarding side ---

  /** The upstream is ready: what arrived meanwhile goes to {@code target}, and so does the rest. */
  void forwardTo(RequestSink target) {
    if (complete || requestFailed) {
      target.abortUpstream();
      return;
    }
    sink = target;
    ArrayDeque<HttpContent> queued = pending;
    pending = null;
    if (queued != null) {
      for (HttpContent c; (c = queued.poll()) != null; ) {
        target.requestContent(c);
      }
      target.requestFlush();
    }
    down.resume(DownstreamHandler.PAUSE_WAITING_UPSTREAM);
  }

  /** The upstream cannot take more request body now (or can again). */
  void pauseRequestBody(boolean pause) {
    if (pause) {
      down.pause(DownstreamHandler.PAUSE_BACKPRESSURE);
    } else {
      down.resume(DownstreamHandler.PAUSE_BACKPRESSURE);
    }
  }

  /** Whether the client's side takes more response now. */
  boolean downstreamWritable() {
    return down.isWritable();
  }

  /** An informational (1xx) response from the upstream, such as {@code 100 Continue}. */
  void sendInterim(FullHttpResponse interim) {
    if (complete || responseStarted) {
      interim.release();
      return;
    }
    if (!http2) {
      interim.setProtocolVersion(HttpVersion.HTTP_1_1);
    }
    down.write(interim, true);
  }

  /** The response head: through the listeners, then to the client (not yet flushed). */
  void sendResponseHead(HttpResponse response) {
    if (complete || responseStarted) {
      ReferenceCountUtil.release(response);
      return;
    }
    responseStarted = true;
    if (response.status().code() == 101) {
      tunnel = true;
    }
    if (headListeners != null) {
      for (int i = headListeners.size() - 1; i >= 0; i--) {
        try {
          headListeners.get(i).onResponseHead(this, response);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "response head listener failed", e);
        }
      }
    }
    status = response.status().code();
    responseHeaders = response.headers();
    if (!http2) {
      prepareHttp1(response);
    }
    if (!(response instanceof FullHttpResponse)) {
      down.write(response, false);
    }
  }

  /** HTTP/1.x framing of the response for this client, and whether the connection stays. */
  private void prepareHttp1(HttpResponse response) {
    HttpHeaders headers = response.headers();
    response.setProtocolVersion(http10 ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1);
    if (tunnel) {
      return; // Connection: upgrade and Upgrade stay; the connection becomes the tunnel's
    }
    headers.remove(HttpHeaderNames.CONNECTION);
    headers.remove(HttpHeaderNames.KEEP_ALIVE);
    boolean bodyless = request.method() == HttpMethod.HEAD || status < 200 || status == 204 || status == 304;
    boolean chunked = HttpUtil.isTransferEncodingChunked(response);
    if (!bodyless && !chunked && !HttpUtil.isContentLengthSet(response)) {
      if (http10) {
        closeConnection = true; // the body ends with the connection
      } else {
        headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      }
    }
    if (http10 && chunked) {
      headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
      closeConnection = true;
    }
    if (!requestComplete && !bodyless) {
      // Answered before the request ended: the rest of the request cannot be told from the next one.
      closeConnection = true;
    }
    if (closeConnection || !clientKeepAlive) {
      closeConnection = true;
      headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    } else if (http10) {
      headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    }
  }

  /** A whole response without body or trailers from the upstream: one head that ends the response (HTTP/2: END_STREAM on HEADERS). */
  void sendFullResponse(FullHttpResponse response) {
    if (complete || responseStarted) {
      response.release();
      return;
    }
    sendResponseHead(response);
    down.write(response, true);
    responseComplete = true;
    maybeComplete();
  }

  /** A piece of the response body; this exchange owns it. */
  void sendResponseContent(HttpContent content) {
    if (complete) {
      content.release();
      return;
    }
    responseBytes += content.content().readableBytes();
    if (messagesOut != null) {
      messagesOut.consume(content.content());
    }
    down.write(content, false);
  }

  /** The response's last piece (with its trailers): written and flushed; the exchange may be over. */
  void sendResponseEnd(LastHttpContent last) {
    if (complete) {
      last.release();
      return;
    }
    responseBytes += last.content().readableBytes();
    if (messagesOut != null) {
      messagesOut.consume(last.content());
    }
    if (!last.trailingHeaders().isEmpty()) {
      trailers = last.trailingHeaders();
    }
    down.write(last, true);
    responseComplete = true;
    maybeComplete();
  }

  void flushResponse() {
    if (!complete) {
      down.flush();
    }
  }

  /** The upstream answered with this head (so the status is not the proxy's). */
  void upstreamResponded(boolean value) {
    upstreamResponded = value;
  }

  /** The connection became a tunnel after a {@code 101}: raw bytes both ways until either side closes. */
  void becomeTunnel() {
    tunnel = true;
    down.becomeTunnel();
  }

  /**
   * Answers a {@code CONNECT} with {@code 200} and turns the connection into a tunnel to {@code target}: raw
   * bytes both ways from now on. No response-head listener sees the answer (a tunnel carries no telemetry).
   */
  void openTunnel(RequestSink target) {
    if (complete || responseStarted) {
      target.abortUpstream();
      return;
    }
    sink = target;
    tunnel = true;
    responseStarted = true;
    upstreamResponded = true;
    status = 200;
    releasePending(); // a CONNECT's (empty) end: what follows is the tunnel's
    down.write(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK), true);
    down.becomeTunnel();
  }

  /** Raw bytes to the client of a tunnel. */
  void tunnelToClient(ByteBuf bytes) {
    if (complete) {
      bytes.release();
      return;
    }
    responseBytes += bytes.readableBytes();
    down.writeRaw(bytes);
  }

  /** The tunnel's upstream side closed: close the client's too. */
  void tunnelClosed() {
    if (!complete) {
      responseComplete = true;
      requestComplete = true;
      down.flushAndClose();
      finish();
    }
  }

  boolean isTunnel() {
    return tunnel;
  }

  /** The upstream broke off after the response started: the client's connection or stream is cut. */
  void cutDownstream() {
    if (complete) {
      return;
    }
    failRequest();
    down.cut();
    finish();
  }

  private void releasePending() {
    ArrayDeque<HttpContent> queued = pending;
    pending = null;
    if (queued != null) {
      queued.forEach(ReferenceCountUtil::release);
      down.resume(DownstreamHandler.PAUSE_WAITING_UPSTREAM);
    }
  }

  private void maybeComplete() {
    if (complete || !responseComplete || tunnel) {
      return;
    }
    if (!requestComplete) {
      // The response ended first (the app answered early, or the proxy refused): the rest of the request
      // is not forwarded. HTTP/1.1 closes the connection; HTTP/2 asks the client to stop sending.
      failRequest();
      down.endWithRequestOpen();
    }
    finish();
  }

  private void finish() {
    if (complete) {
      return;
    }
    complete = true;
    releasePending();
    if (status == 0) {
      status = CLIENT_CLOSED_REQUEST;
    }
    if (completeListeners != null) {
      for (int i = completeListeners.size() - 1; i >= 0; i--) {
        try {
          completeListeners.get(i).run();
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "exchange completion listener failed", e);
        }
      }
    }
    down.exchangeDone(this);
  }

  /** A fresh header block for answers of the proxy's own. */
  static HttpHeaders headers() {
    return new DefaultHttpHeaders();
  }
}
