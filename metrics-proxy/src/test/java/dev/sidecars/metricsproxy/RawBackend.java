package dev.sidecars.metricsproxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An app that answers by hand, for what a well-behaved server will not send: each request's path picks raw
 * response bytes; {@code resetAfter} answers are followed by a TCP reset instead of a keep-alive. Only
 * bodiless requests are read. Paths not scripted get {@code 200 ok}.
 */
final class RawBackend implements AutoCloseable {
  /** What to send for one path, and whether to reset the connection after it. */
  record Answer(String bytes, boolean reset) {}

  private final ServerSocket server;
  private final Map<String, Answer> answers = new ConcurrentHashMap<>();
  private final Thread acceptor;

  RawBackend() {
    try {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    acceptor = new Thread(this::accept, "raw-backend");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  RawBackend answer(String path, String bytes, boolean reset) {
    answers.put(path, new Answer(bytes, reset));
    return this;
  }

  String url() {
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        Thread t = new Thread(() -> serve(socket), "raw-backend-connection");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      while (true) {
        String head = readHead(in);
        if (head == null) {
          return;
        }
        String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
        Answer answer = answers.getOrDefault(path, new Answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false));
        out.write(answer.bytes().getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        if (answer.reset()) {
          socket.setSoLinger(true, 0); // close() now sends a reset
          return;
        }
      }
    } catch (IOException e) {
      // the proxy went away
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    for (int b; (b = in.read()) >= 0; ) {
      head.write(b);
      matched = (b == '\r' && matched % 2 == 0) || (b == '\n' && matched % 2 == 1) ? matched + 1 : (b == '\r' ? 1 : 0);
      if (matched == 4) {
        return head.toString(StandardCharsets.ISO_8859_1);
      }
    }
    return null;
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // closing
    }
  }
}
