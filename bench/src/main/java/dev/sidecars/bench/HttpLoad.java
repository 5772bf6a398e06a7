package dev.sidecars.bench;

import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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

  /**
   * One HTTP/1.1 connection, opened on first use and again after the server closed it; requests and
   * answers go through the ingest benchmark's {@link OtlpLoad.SocketConnection}.
   */
  static final class Connection {
    private final String host;
    private final int port;
    private final SSLContext tls;
    private final byte[] request;
    private final int timeoutMs;
    private OtlpLoad.SocketConnection connection;

    Connection(String host, int port, SSLContext tls, byte[] request, int timeoutMs) {
      this.host = host;
      this.port = port;
      this.tls = tls;
      this.request = request;
      this.timeoutMs = timeoutMs;
    }

    /** Sends the request and reads the whole answer; returns its status. */
    int exchange() throws IOException {
      if (connection == null) {
        connection = new OtlpLoad.SocketConnection(open());
      }
      int status = connection.exchange(request, request.length);
      if (!connection.keepAlive) {
        close();
      }
      return status;
    }

    private Socket open() throws IOException {
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
      return s;
    }

    void close() {
      if (connection != null) {
        connection.close();
        connection = null;
      }
    }
  }
}
