package dev.sidecars.traceinjector.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.traceinjector.testing.Backend;
import dev.sidecars.traceinjector.testing.Injector;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The three ways an app reaches a service through the sidecar, and CONNECT, against real servers. */
class RoutingTest {
  static Backend orders;
  static Backend direct;
  static Injector injector;

  @BeforeAll
  static void start() {
    orders = Backend.start("orders");
    direct = Backend.start("direct");
    // direct is called by address: allowed by naming it exactly (a loopback address is refused otherwise).
    injector = Injector.start(Map.of("UPSTREAMS", "orders=" + orders.url(), "EGRESS_ALLOW", "127.0.0.1:" + direct.port()));
  }

  @AfterAll
  static void stop() {
    injector.close();
    orders.close();
    direct.close();
  }

  @Test
  void pathPrefixNamesTheServiceAndTheRestIsThePath() {
    HttpResponse<String> response = injector.get("/orders/items/7?expand=lines&x=%2F");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("orders /items/7?expand=lines&x=%2F");
    Backend.Seen seen = orders.last();
    assertThat(seen.header("traceparent")).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]");
    assertThat(seen.header("X-Request-Id")).matches("[0-9a-f-]{36}");
    assertThat(seen.header("Host")).isEqualTo("127.0.0.1:" + orders.port());
  }

  @Test
  void hostHeaderNamesTheService() {
    String response = injector.raw("GET /items/8 HTTP/1.1\r\nHost: orders\r\nConnection: close\r\n\r\n");
    assertThat(response).startsWith("HTTP/1.1 200").endsWith("orders /items/8");
    assertThat(orders.last().header("traceparent")).isNotNull();
  }

  @Test
  void forwardProxyAbsoluteFormToAListedName() {
    HttpResponse<String> response = injector.getViaProxy("http://orders/items/9?q=1");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("orders /items/9?q=1");
  }

  @Test
  void forwardProxyAbsoluteFormToAnUnlistedHostAndPort() {
    HttpResponse<String> response = injector.getViaProxy(direct.url() + "/ping");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("direct /ping");
    assertThat(direct.last().header("traceparent")).isNotNull();
  }

  @Test
  void theRealChainCombinesTracestateFieldsAndRestartsOnAnInvalidTraceparent() {
    String trace = "0af7651916cd43dd8448eb211c80319c";
    injector.raw("GET /orders/t HTTP/1.1\r\nHost: localhost\r\nTraceParent: 00-" + trace + "-b7ad6b7169203331-01\r\n"
        + "tracestate: rojo=1\r\ntracestate: congo=2\r\nX-B3-ParentSpanId: 05e3ac9a4f6e3b90\r\nConnection: close\r\n\r\n");
    Backend.Seen continued = orders.last();
    assertThat(continued.header("traceparent")).startsWith("00-" + trace + "-").doesNotContain("b7ad6b7169203331");
    assertThat(continued.headers().get("tracestate")).containsExactly("rojo=1,congo=2");

    injector.raw("GET /orders/t HTTP/1.1\r\nHost: localhost\r\ntraceparent: 00-" + trace.toUpperCase() + "-b7ad6b7169203331-01\r\n"
        + "tracestate: rojo=1\r\nConnection: close\r\n\r\n");
    Backend.Seen restarted = orders.last();
    assertThat(restarted.header("traceparent")).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]").doesNotContain(trace);
    assertThat(restarted.header("tracestate")).isNull();
  }

  @Test
  void requestIdIsKeptWhenSent() {
    injector.get("/orders/a", "X-Request-Id", "req-42");
    assertThat(orders.last().header("X-Request-Id")).isEqualTo("req-42");
  }

  @Test
  void largeBodiesStreamBothWays() {
    byte[] body = new byte[4 * 1024 * 1024];
    Arrays.fill(body, (byte) 'x');
    HttpResponse<String> response = injector.post("/orders/upload", body);
    assertThat(response.statusCode()).as("%s %s", response.headers().map(), response.body()).isEqualTo(200);
    assertThat(response.body()).hasSize(body.length);
  }

  @Test
  void noServiceIsABadRequestNotAnError() {
    assertThat(injector.get("/").statusCode()).isEqualTo(400);
    String bad = injector.raw("GET /x HTTP/1.1\r\nHost: bad_host!\r\nConnection: close\r\n\r\n");
    assertThat(bad).startsWith("HTTP/1.1 400");
  }

  @Test
  void connectIsTunnelledUntouched() {
    String response = injector.tunnel("127.0.0.1:" + direct.port(),
        "GET /tunnelled HTTP/1.1\r\nHost: direct\r\nConnection: close\r\n\r\n");
    assertThat(response).startsWith("HTTP/1.1 200").endsWith("direct /tunnelled");
    Backend.Seen seen = direct.last();
    assertThat(seen.uri()).isEqualTo("/tunnelled");
    assertThat(seen.header("traceparent")).as("no headers can be added in a tunnel").isNull();
    assertThat(seen.header("X-Request-Id")).isNull();
  }
}
