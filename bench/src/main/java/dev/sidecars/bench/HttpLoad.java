package dev.sidecars.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * The load generator of bench/tls.sh: {@code GET} requests over HTTP/1.1 keep-alive connections, plain
 * or TLS, with a client certificate when given one (which wrk cannot send), one thread per connection
 * and one request in flight on each, phases as in {@link LoadRun}. The server's certificate is verified
 * against {@code --ca}, and its name against the URL's host, as a client of the sidecar would. A
 * request counts as a success only on a 2xx answer read to its end.
 *
 * <p>Options: {@code --url=https://127.0.0.1:PORT/users/1}, {@code --cert}, {@code --key} (PEM, PKCS#8),
 * {@code --ca} (PEM bundle; without it the JDK's trust store), {@code --max-connections=64}, and
 * {@link LoadRun#OPTIONS}. The negotiated protocol and cipher suite go to stderr once.
 */
public final class HttpLoad {
  private HttpLoad() {}

  public static void main(String[] argv) throws Exception {
    LoadRun.Settings settings;
    URI url;
    SSLContext tls;
    try {
      Args args = new Args(argv);
      url = URI.create(args.string("url", "http://127.0.0.1:8080/"));
      String cert = args.string("cert", "");
      String key = args.string("key", "");
      String ca = args.string("ca", "");
      settings = LoadRun.Settings.parse(args, 64, 1);
      args.done();
      if (url.getPort() < 0 || !(url.getScheme().equals("http") || url.getScheme().equals("https"))) {
        throw new IllegalArgumentException("--url must be http(s)://HOST:PORT/PATH");
      }
      if (cert.isEmpty() != key.isEmpty()) {
        throw new IllegalArgumentException("--cert and --key go together");
      }
      tls = url.getScheme().equals("https")
          ? PemFiles.context(cert.isEmpty() ? null : Path.of(cert), key.isEmpty() ? null : Path.of(key),
              ca.isEmpty() ? null : Path.of(ca))
          : null;
    } catch (IllegalArgumentException e) {
      System.err.println("HttpLoad: " + e.getMessage());
      System.err.println("usage: java -cp bench.jar dev.sidecars.bench.HttpLoad --url=https://HOST:PORT/PATH"
          + " [--cert=client.pem --key=client.key] [--ca=ca.pem] " + LoadRun.OPTIONS);
      System.exit(64);
      return;
    }
    int timeoutMs = (int) settings.timeout().toMillis();
    System.exit(LoadRun.run(settings, n -> new Connections(url, tls, n, timeoutMs), System.out));
  }

  /** {@code n} keep-alive connections to one URL, each used by one thread at a time. */
  static final class Connections implements Caller {
    private static final AtomicBoolean TOLD_TLS = new AtomicBoolean();
    private final Connection[] connections;

    Connections(URI url, SSLContext tls, int n, int timeoutMs) {
      byte[] request = ("GET " + url.getRawPath() + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery())
          + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort() + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII);
      connections = new Connection[n];
      for (int i = 0; i < n; i++) {
        connections[i] = new Connection(url.getHost(), url.getPort(), tls, request, timeoutMs);
      }
    }

    @Override
    public void call(int connection, Outcome outcome) {
      Connection c = connections[connection];
      int status;
      try {
        status = c.exchange();
      } catch (IOException | RuntimeException e) {
        c.close();
        outcome.failed(e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        return;
      }
      if (status >= 200 && status < 300) {
        outcome.ok();
      } else {
        outcome.failed("HTTP " + status);
      }
    }

    @Override
    public boolean blocking() {
      return true;
    }

    @Override
    public void close() {
      for (Connection c : connections) {
        c.close();
      }
    }
  }

  /** One HTTP/1.1 connection, opened on first use and again after the server closed it. */
  static final class Connection {
    private final String host;
    private final int port;
    private final SSLContext tls;
    private final byte[] request;
    private final int timeoutMs;
    private final StringBuilder line = new StringBuilder();
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    Connection(String host, int port, SSLContext tls, byte[] request, int timeoutMs) {
      this.host = host;
      this.port = port;
      this.tls = tls;
      this.request = request;
      this.timeoutMs = timeoutMs;
    }

    /** Sends the request and reads the whole answer; returns its status. */
    int exchange() throws IOException {
      if (socket == null) {
        open();
      }
      out.write(request);
      out.flush();
      String status = readLine();
      if (status == null) {
        throw new EOFException("connection closed before the answer");
      }
      if (status.length() < 12 || !status.startsWith("HTTP/1.")) {
        throw new IOException("not an HTTP/1.x status line: " + status);
      }
      int code = Integer.parseInt(status.substring(9, 12));
      boolean close = status.startsWith("HTTP/1.0");
      boolean chunked = false;
      long length = -1;
      for (String h = readHeaderLine(); !h.isEmpty(); h = readHeaderLine()) {
        int colon = h.indexOf(':');
        if (colon < 0) {
          continue;
        }
        String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = h.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
        switch (name) {
          case "content-length" -> length = Long.parseLong(value);
          case "transfer-encoding" -> chunked = value.contains("chunked");
          case "connection" -> close = value.contains("close") || (close && !value.contains("keep-alive"));
          default -> { }
        }
      }
      if (chunked) {
        for (long size = chunkSize(); size > 0; size = chunkSize()) {
          skip(size);
          readHeaderLine();
        }
        while (!readHeaderLine().isEmpty()) {
          // trailers
        }
      } else if (length >= 0) {
        skip(length);
      } else if (code != 204 && code != 304) {
        while (in.read() >= 0) {
          // the body runs to the end of the connection
        }
        close = true;
      }
      if (close) {
        close();
      }
      return code;
    }

    private void open() throws IOException {
      Socket s;
      if (tls != null) {
        SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(host, port);
        SSLParameters params = ssl.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        ssl.setSSLParameters(params);
        ssl.setSoTimeout(timeoutMs);
        ssl.startHandshake();
        if (Connections.TOLD_TLS.compareAndSet(false, true)) {
          System.err.println("[load] tls: " + ssl.getSession().getProtocol() + " " + ssl.getSession().getCipherSuite());
        }
        s = ssl;
      } else {
        s = new Socket(host, port);
      }
      s.setTcpNoDelay(true);
      s.setSoTimeout(timeoutMs);
      socket = s;
      in = new BufferedInputStream(s.getInputStream(), 16 * 1024);
      out = new BufferedOutputStream(s.getOutputStream(), 4 * 1024);
    }

    void close() {
      if (socket != null) {
        try {
          socket.close();
        } catch (IOException e) {
          // closing anyway
        }
        socket = null;
      }
    }

    private long chunkSize() throws IOException {
      String s = readHeaderLine();
      int semicolon = s.indexOf(';');
      return Long.parseLong((semicolon < 0 ? s : s.substring(0, semicolon)).trim(), 16);
    }

    private void skip(long n) throws IOException {
      while (n > 0) {
        long skipped = in.skip(n);
        if (skipped <= 0) {
          if (in.read() < 0) {
            throw new EOFException("connection closed in the body");
          }
          skipped = 1;
        }
        n -= skipped;
      }
    }

    private String readHeaderLine() throws IOException {
      String s = readLine();
      if (s == null) {
        throw new EOFException("connection closed in the header");
      }
      return s;
    }

    /** One line without its CRLF; null at the end of the stream before any byte. */
    private String readLine() throws IOException {
      line.setLength(0);
      int b;
      while ((b = in.read()) >= 0 && b != '\n') {
        if (b != '\r') {
          line.append((char) b);
        }
      }
      return b < 0 && line.length() == 0 ? null : line.toString();
    }
  }
}
