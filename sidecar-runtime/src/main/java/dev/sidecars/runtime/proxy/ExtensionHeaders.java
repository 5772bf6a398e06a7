package dev.sidecars.runtime.proxy;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.HttpConversionUtil;

/**
 * The {@code x-http2-*} headers Netty's HTTP/2-to-HTTP/1.1 conversion adds to a message (stream id, scheme):
 * bookkeeping of the codec, never meant for the other side of the proxy.
 */
final class ExtensionHeaders {
  private static final HttpConversionUtil.ExtensionHeaderNames[] NAMES = HttpConversionUtil.ExtensionHeaderNames.values();

  private ExtensionHeaders() {}

  static void strip(HttpHeaders headers) {
    for (HttpConversionUtil.ExtensionHeaderNames name : NAMES) {
      headers.remove(name.text());
    }
  }
}
