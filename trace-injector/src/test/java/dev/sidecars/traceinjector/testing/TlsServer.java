package dev.sidecars.traceinjector.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A TLS upstream made of the JDK's own TLS sockets, so what trace-injector's client does is checked by
 * another implementation: one HTTP/1.1 request per connection (answered with {@code Connection: close}, so
 * every request is a new handshake), the body naming the client certificate's first URI SAN ({@code none}
 * without one). Records each connection's client identity and ALPN offer; chooses {@code http/1.1} by ALPN.
 */
public final class TlsServer implements AutoCloseable {
  private final SSLServerSocket socket;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final List<String> clients = new CopyOnWriteArrayList<>();
  private final List<List<String>> alpnOffers = new CopyOnWriteArrayList<>();

  /** @param needClientAuth whether a client certificate is required (mTLS) */
  public TlsServer(SSLContext context, boolean needClientAuth) {
    try {
      socket = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
      socket.bind(new InetSocketAddress(InetAddress.getByName("localhost"), 0));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    socket.setNeedClientAuth(needClientAuth);
    threads.execute(this::accept);
  }

  public int port() {
    return socket.getLocalPort();
  }

  /** The identity of the client of each connection that completed a request, in order. */
  public List<String> clients() {
    return List.copyOf(clients);
  }

  /** Each handshake's ALPN offer. */
  public List<List<String>> alpnOffers() {
    return List.copyOf(alpnOffers);
  }

  private void accept() {
    while (!socket.isClosed()) {
      try {
        SSLSocket s = (SSLSocket) socket.accept();
        s.setHandshakeApplicationProtocolSelector((sock, offered) -> {
          alpnOffers.add(List.copyOf(offered));
          return offered.isEmpty() ? null : offered.contains("http/1.1") ? "http/1.1" : "";
        });
        threads.execute(() -> serve(s));
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void serve(SSLSocket s) {
    try (s) {
      s.setSoTimeout(10_000);
      s.startHandshake();
      InputStream in = s.getInputStream();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int c = in.read();
        if (c < 0) {
          return;
        }
        head.append((char) c);
      }
      String client = identity(s);
      clients.add(client);
      byte[] body = client.getBytes(StandardCharsets.UTF_8);
      OutputStream out = s.getOutputStream();
      out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
    } catch (IOException e) {
      // a refused handshake: the client's side is what the tests look at
    }
  }

  private static String identity(SSLSocket s) {
    try {
      X509Certificate leaf = (X509Certificate) s.getSession().getPeerCertificates()[0];
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      List<String> uris = new ArrayList<>();
      if (sans != null) {
        for (List<?> san : sans) {
          if (Integer.valueOf(6).equals(san.get(0))) {
            uris.add((String) san.get(1));
          }
        }
      }
      return uris.isEmpty() ? "none" : uris.get(0);
    } catch (SSLPeerUnverifiedException e) {
      return "none";
    } catch (CertificateParsingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
    threads.shutdownNow();
  }
}
