package dev.sidecars.metricsproxy;

import static dev.sidecars.metricsproxy.TlsListenerTest.CA;
import static dev.sidecars.metricsproxy.TlsListenerTest.CHECKOUT;
import static dev.sidecars.metricsproxy.TlsListenerTest.SERVER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sidecars.testing.tls.TestCertificate;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code AUTHZ_POLICY} at metrics-proxy with real mTLS callers: an allow/deny table of identities, methods
 * and paths (obfuscated ones included); a denied request gets 403, flag {@code UA}, a count by route and
 * bounded identity, and never reaches the application.
 */
class AuthorizationTest {
  static final String CART = "spiffe://cluster.local/ns/shop/sa/cart";
  static final String ADMIN = "spiffe://cluster.local/ns/ops/sa/admin";
  static final String POLICY = String.join("\n",
      "/payments POST,PUT = " + CHECKOUT,
      "/payments GET      = spiffe://cluster.local/ns/shop/*",
      "/catalog GET,HEAD  = *",
      "/healthz           = anyone",
      "/                  = " + ADMIN);

  @TempDir Path dir;
  private TestBackend backend;
  private ProxyUnderTest proxy;
  private final ByteArrayOutputStream accessLog = new ByteArrayOutputStream();
  private final Map<String, HttpClient> clients = Map.of(
      "checkout", TlsListenerTest.client(CA.sslContext(CA.leaf().uri(CHECKOUT).issue()), HttpClient.Version.HTTP_2),
      "cart", TlsListenerTest.client(CA.sslContext(CA.leaf().uri(CART).issue()), HttpClient.Version.HTTP_1_1),
      "admin", TlsListenerTest.client(CA.sslContext(CA.leaf().uri(ADMIN).issue()), HttpClient.Version.HTTP_2),
      "none", ProxyUnderTest.CLIENT);

  @BeforeEach
  void start() {
    backend = new TestBackend();
    SERVER.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    CA.writeCertificate(dir.resolve("ca.crt"));
    // permissive: callers with a certificate come over mTLS, "none" in plaintext.
    proxy = ProxyUnderTest.start(new PrintStream(accessLog, true, StandardCharsets.UTF_8), Map.of(
        "TARGET_URL", backend.url(), "ACCESS_LOG", "on", "ROUTES", "/payments/{id},/catalog",
        "TLS_MODE", "permissive", "TLS_CERT_FILE", dir.resolve("tls.crt").toString(),
        "TLS_KEY_FILE", dir.resolve("tls.key").toString(), "TLS_CA_FILE", dir.resolve("ca.crt").toString(),
        "AUTHZ_POLICY", POLICY));
  }

  @AfterEach
  void stop() {
    proxy.close();
    backend.close();
  }

  private int call(String caller, String method, String path) throws Exception {
    String scheme = caller.equals("none") ? "http" : "https";
    HttpRequest request = HttpRequest.newBuilder(URI.create(scheme + "://127.0.0.1:" + proxy.port() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).build();
    return clients.get(caller).send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void allowsWhatThePolicyAllowsAndDeniesTheRestBeforeTheApp() throws Exception {
    String[][] table = {
        // caller, method, path, status
        {"checkout", "POST", "/payments/42", "200"},
        {"checkout", "PUT", "/payments", "200"},
        {"cart", "POST", "/payments/42", "403"},
        {"cart", "GET", "/payments/42", "200"},
        {"checkout", "GET", "/payments/42?x=1", "200"},
        {"admin", "DELETE", "/payments/42", "403"}, // /payments has rules, none allows DELETE
        {"admin", "GET", "/metrics", "200"},
        {"checkout", "GET", "/metrics", "403"},
        {"none", "GET", "/catalog", "403"}, // * needs a verified certificate
        {"cart", "HEAD", "/catalog", "200"},
        {"cart", "POST", "/catalog", "403"},
        {"none", "GET", "/healthz", "200"},
        {"none", "GET", "/administrator", "403"},
        // obfuscated paths are judged as the most lenient application would read them
        {"cart", "GET", "/catalog/..%2Fpayments/1", "200"},
        {"cart", "POST", "/catalog/..%2Fpayments/1", "403"},
        {"checkout", "GET", "//admin", "403"},
        {"checkout", "GET", "/%61dmin", "403"},
        {"none", "GET", "/healthz/%2e%2e/metrics", "403"},
    };
    int allowed = 0;
    for (String[] row : table) {
      assertThat(call(row[0], row[1], row[2])).as(Arrays.toString(row)).isEqualTo(Integer.parseInt(row[3]));
      if (row[3].equals("200")) {
        allowed++;
      }
    }
    assertThat(backend.seen).as("denied requests never reach the app").hasSize(allowed);

    String metrics = proxy.admin("/metrics", null).body();
    assertThat(PrometheusText.value(metrics, "authz_denied_total", "route", "/payments/{id}", "identity", "_OTHER"))
        .hasValue(1); // cart's POST (the obfuscated one is labelled by its path as sent: _OTHER)
    assertThat(PrometheusText.value(metrics, "authz_denied_total", "route", "/payments/{id}", "identity", ADMIN))
        .hasValue(1);
    assertThat(PrometheusText.value(metrics, "authz_denied_total", "route", "/catalog", "identity", "_NONE"))
        .hasValue(1);
    int deniedCount = table.length - allowed;
    List<JsonNode> denied = await().until(() -> TlsListenerTest.accessLines(accessLog).stream()
        .filter(l -> l.path("status").asInt() == 403).toList(), l -> l.size() == deniedCount);
    assertThat(denied).allSatisfy(l -> assertThat(l.path("flags").asText()).isEqualTo("UA"));
  }
}
