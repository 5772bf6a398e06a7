package dev.sidecars.runtime.tls;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;

/**
 * The {@code X-Forwarded-Client-Cert} header the ingress proxy gives the application, in Envoy's format:
 * {@code By=<this sidecar's identity>;Hash=<sha256 of the client certificate>;Subject="...";URI=...;DNS=...}
 * (one {@code URI=} or {@code DNS=} pair per SAN). The application can trust it because the proxy removes
 * every such header that arrives from outside before it adds its own (Envoy's {@code SANITIZE_SET}).
 */
public final class ForwardedClientCert {
  /** The header name, lower case as HTTP/2 requires. */
  public static final AsciiString NAME = AsciiString.cached("x-forwarded-client-cert");

  private ForwardedClientCert() {}

  /** The header value for a request that came with {@code client}, received by a sidecar named {@code by}. */
  public static String value(PeerCertificate client, String by) {
    StringBuilder out = new StringBuilder(256);
    if (by != null && !by.isEmpty()) {
      out.append("By=").append(quoteIfNeeded(by)).append(';');
    }
    out.append("Hash=").append(client.sha256());
    out.append(";Subject=").append(quote(client.subject()));
    for (String uri : client.uris()) {
      out.append(";URI=").append(quoteIfNeeded(uri));
    }
    for (String dns : client.dnsNames()) {
      out.append(";DNS=").append(quoteIfNeeded(dns));
    }
    return out.toString();
  }

  /**
   * Removes every {@code X-Forwarded-Client-Cert} from {@code headers}, then adds ours when the connection
   * carries a verified client certificate ({@code client} not null). {@code by} is this sidecar's identity.
   */
  public static void replace(HttpHeaders headers, PeerCertificate client, String by) {
    headers.remove(NAME);
    if (client != null) {
      headers.add(NAME, value(client, by));
    }
  }

  /** As {@link #replace(HttpHeaders, PeerCertificate, String)}, for HTTP/2 headers. */
  public static void replace(Http2Headers headers, PeerCertificate client, String by) {
    headers.remove(NAME);
    if (client != null) {
      headers.add(NAME, value(client, by));
    }
  }

  /**
   * Envoy's documented rule: a value holding {@code , ; =} (or a quote, or white space) is double-quoted, and
   * a quote inside is escaped with a backslash. Nothing else is escaped, as parsers of the header expect.
   */
  private static String quoteIfNeeded(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == ',' || c == ';' || c == '=' || c == '"' || Character.isWhitespace(c)) {
        return quote(value);
      }
    }
    return value;
  }

  private static String quote(String value) {
    StringBuilder out = new StringBuilder(value.length() + 2).append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"') {
        out.append('\\');
      }
      // A header value holds no line breaks or other control characters, whatever a subject says.
      out.append(Character.isISOControl(c) ? ' ' : c);
    }
    return out.append('"').toString();
  }
}
