package dev.sidecars.conformance;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * HTTP/1.1 over one kept-alive socket, writing header lines byte for byte as given (any case, repeated
 * names, spaces and tabs around values), which the JDK's client would normalise or refuse.
 */
final class RawClient implements AutoCloseable {
  /** A response: status and body. */
  record Response(int status, String body) {}

  private final int port;
  private Socket socket;

  RawClient(int port) {
    this.port = port;
  }

  Response get(String target, List<Line> headers) {
    StringBuilder request = new StringBuilder("GET ").append(target).append(" HTTP/1.1\r\n")
        .append("Host: 127.0.0.1:").append(port).append("\r\n");
    for (Line line : headers) {
      request.append(line.name()).append(':').append(line.value()).append("\r\n");
    }
    request.append("\r\n");
    byte[] bytes = request.toString().getBytes(StandardCharsets.ISO_8859_1);
    boolean reused = socket != null;
    try {
      return exchange(bytes);
    } catch (IOException first) {
      closeSocket();
      if (!reused) {
        throw new UncheckedIOException(first);
      }
      // A kept-alive connection the server closed while idle: once more on a new one, which must work.
      try {
        return exchange(bytes);
      } catch (IOException e) {
        closeSocket();
        throw new UncheckedIOException(e);
      }
    }
  }

  private Response exchange(byte[] request) throws IOException {
    if (socket == null) {
      socket = new Socket();
      socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      socket.setSoTimeout(30_000);
      socket.setTcpNoDelay(true);
    }
    OutputStream out = socket.getOutputStream();
    out.write(request);
    out.flush();
    InputStream in = socket.getInputStream();
    String head = readHead(in);
    String[] lines = head.split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    long length = -1;
    boolean chunked = false;
    boolean close = false;
    for (int i = 1; i < lines.length; i++) {
      String line = lines[i].toLowerCase(Locale.ROOT);
      if (line.startsWith("content-length:")) {
        length = Long.parseLong(line.substring(15).trim());
      } else if (line.startsWith("transfer-encoding:") && line.contains("chunked")) {
        chunked = true;
      } else if (line.startsWith("connection:") && line.contains("close")) {
        close = true;
      }
    }
    String body;
    if (chunked) {
      body = readChunked(in);
    } else if (length >= 0) {
      body = new String(in.readNBytes((int) length), StandardCharsets.ISO_8859_1);
    } else {
      body = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      close = true;
    }
    if (close) {
      closeSocket();
    }
    return new Response(status, body);
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed before a response");
      }
      head.write(b);
      matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3)) ? matched + 1 : 0;
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  private static String readChunked(InputStream in) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String size = readLine(in);
      int semicolon = size.indexOf(';');
      int n = Integer.parseInt((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
      if (n == 0) {
        while (!readLine(in).isEmpty()) {
          // trailers
        }
        return body.toString(StandardCharsets.ISO_8859_1);
      }
      body.write(in.readNBytes(n));
      readLine(in);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    int b;
    while ((b = in.read()) >= 0 && b != '\n') {
      if (b != '\r') {
        line.append((char) b);
      }
    }
    return line.toString();
  }

  private void closeSocket() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
      socket = null;
    }
  }

  @Override
  public void close() {
    closeSocket();
  }
}
