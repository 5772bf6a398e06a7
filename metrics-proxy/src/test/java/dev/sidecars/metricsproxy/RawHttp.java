package dev.sidecars.metricsproxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A socket speaking HTTP/1.1 by hand, for what real clients refuse to send: smuggling, huge headers, slowloris. */
final class RawHttp implements AutoCloseable {
  private final Socket socket;

  RawHttp(int port) {
    try {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(20_000);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  RawHttp send(String text) {
    try {
      socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads until {@code marker} has been seen or the connection ends; returns what came. */
  String readUntil(String marker) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      InputStream in = socket.getInputStream();
      int b;
      while ((b = in.read()) >= 0) {
        out.write(b);
        if (out.toString(StandardCharsets.ISO_8859_1).contains(marker)) {
          break;
        }
      }
    } catch (SocketTimeoutException e) {
      // return what we have
    } catch (IOException e) {
      // a reset ends the answer too
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  /** Reads everything until the peer closes. */
  String readToEnd() {
    return readUntil("\u0000never\u0000");
  }

  /** True once the peer has closed the connection (read returns -1 or resets). */
  boolean closedByPeer() {
    try {
      return socket.getInputStream().read() < 0;
    } catch (IOException e) {
      return true;
    }
  }

  /** The status code of the first status line in {@code response}, or -1. */
  static int status(String response) {
    int i = response.indexOf("HTTP/1.1 ");
    return i < 0 ? -1 : Integer.parseInt(response.substring(i + 9, i + 12));
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing
    }
  }
}
