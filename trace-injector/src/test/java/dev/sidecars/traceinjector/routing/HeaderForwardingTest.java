package dev.sidecars.traceinjector.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.traceinjector.testing.Backend;
import dev.sidecars.traceinjector.testing.Injector;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What the real chain forwards of the headers that carry context, against real servers: Jaeger's
 * baggage headers go out as the current baggage says (nothing stale), and pass untouched when Jaeger is
 * not configured; repeated W3C fields of formats not configured go out joined into one.
 */
class HeaderForwardingTest {
  private static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
  private static final String TRACEPARENT = "00-" + TRACE + "-b7ad6b7169203331-01";

  @Test
  void jaegerBaggageHeadersGoOutExactlyAsTheBaggageSays() {
    try (Backend orders = Backend.start("orders");
        Injector injector = Injector.start(Map.of("UPSTREAMS", "orders=" + orders.url(),
            "OTEL_PROPAGATORS", "tracecontext,jaeger,baggage"))) {
      // Jaeger reads uberctx-* and jaeger-baggage first; the baggage header, read later, replaces them.
      injector.get("/orders/t", "traceparent", TRACEPARENT, "uberctx-stale", "old", "uberctx-Tenant", "old",
          "jaeger-baggage", "legacy=1", "baggage", "tenant=acme");
      Backend.Seen seen = orders.last();
      assertThat(seen.header("baggage")).isEqualTo("tenant=acme");
      assertThat(seen.headers().get("uberctx-tenant")).containsExactly("acme");
      assertThat(seen.header("uberctx-stale")).isNull();
      assertThat(seen.header("jaeger-baggage")).isNull();
      assertThat(seen.header("uberctx-legacy")).isNull();
      assertThat(seen.header("uber-trace-id")).startsWith(TRACE + ":");
    }
  }

  @Test
  void withoutJaegerUberctxHeadersPassUntouched() {
    try (Backend orders = Backend.start("orders");
        Injector injector = Injector.start(Map.of("UPSTREAMS", "orders=" + orders.url()))) {
      injector.get("/orders/t", "traceparent", TRACEPARENT, "uberctx-stale", "old", "baggage", "tenant=acme");
      Backend.Seen seen = orders.last();
      assertThat(seen.header("uberctx-stale")).isEqualTo("old");
      assertThat(seen.header("baggage")).isEqualTo("tenant=acme");
    }
  }

  /**
   * Repeated {@code traceparent}, {@code tracestate} and {@code baggage} fields go out as one comma-joined
   * field even when their format is not configured (the shared {@code Propagation} joins them, for both
   * proxies).
   */
  @Test
  void repeatedFieldsOfUnconfiguredW3cFormatsGoOutJoinedIntoOne() {
    try (Backend orders = Backend.start("orders");
        Injector injector = Injector.start(Map.of("UPSTREAMS", "orders=" + orders.url(), "OTEL_PROPAGATORS", "b3"))) {
      injector.raw("GET /orders/t HTTP/1.1\r\nHost: localhost\r\nbaggage: a=1\r\nbaggage: b=2\r\n"
          + "tracestate: rojo=1\r\ntracestate: congo=2\r\nConnection: close\r\n\r\n");
      Backend.Seen seen = orders.last();
      assertThat(seen.headers().get("baggage")).containsExactly("a=1,b=2");
      assertThat(seen.headers().get("tracestate")).containsExactly("rojo=1,congo=2");
      assertThat(seen.header("b3")).isNotNull();
    }
  }
}
