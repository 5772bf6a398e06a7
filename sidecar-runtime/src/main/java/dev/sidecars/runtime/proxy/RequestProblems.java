package dev.sidecars.runtime.proxy;

import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpRequest;

/** What the HTTP/1.1 decoder refused in a request head, as the status the client gets. */
final class RequestProblems {
  private RequestProblems() {}

  /** 431 for a request line or headers over the limit, 400 for the rest, 0 when the head was read fine. */
  static int status(HttpRequest request) {
    if (request.decoderResult().isSuccess()) {
      return 0;
    }
    return request.decoderResult().cause() instanceof TooLongFrameException ? 431 : 400;
  }

  static String reason(HttpRequest request) {
    return status(request) == 431 ? "request header fields too large" : "malformed request";
  }
}
