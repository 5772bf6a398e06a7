package dev.sidecars.runtime.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The allow/deny table of one policy, path tricks that must not slip past it, and the parse errors. */
class AuthorizationPolicyTest {
  private static final String CHECKOUT = "spiffe://cluster.local/ns/shop/sa/checkout";
  private static final String POLICY = """
      # the shop's payment service
      /payments POST,PUT = spiffe://cluster.local/ns/shop/sa/checkout
      /payments GET      = spiffe://cluster.local/ns/shop/*   # any workload of the namespace may read
      /catalog GET,HEAD  = *
      /healthz           = anyone
      /admin             = spiffe://cluster.local/ns/ops/sa/admin; /admin/public = anyone
      """;
  private final AuthorizationPolicy policy = AuthorizationPolicy.parse(POLICY);

  @TempDir Path dir;

  @ParameterizedTest(name = "{0} {1} as {2}: {3}")
  @CsvSource(nullValues = "-", value = {
      "POST,   /payments,              spiffe://cluster.local/ns/shop/sa/checkout, true",
      "PUT,    /payments/42,           spiffe://cluster.local/ns/shop/sa/checkout, true",
      "POST,   /payments/42?x=1,       spiffe://cluster.local/ns/shop/sa/checkout, true",
      "POST,   /payments,              spiffe://cluster.local/ns/shop/sa/cart,     false",
      "GET,    /payments/42,           spiffe://cluster.local/ns/shop/sa/cart,     true",
      "GET,    /payments/42,           spiffe://cluster.local/ns/shopping/sa/x,    false",
      "GET,    /payments,              -,                                          false",
      "DELETE, /payments/42,           spiffe://cluster.local/ns/shop/sa/checkout, false",
      "GET,    /paymentsextra,         spiffe://cluster.local/ns/shop/sa/checkout, false",
      "GET,    /catalog/items,         spiffe://anything/at/all,                   true",
      "HEAD,   /catalog,               dns.name.example,                           true",
      "GET,    /catalog,               -,                                          false",
      "POST,   /catalog,               spiffe://cluster.local/ns/shop/sa/checkout, false",
      "GET,    /healthz,               -,                                          true",
      "POST,   /healthz/deep,          -,                                          true",
      "GET,    /admin/users,           spiffe://cluster.local/ns/ops/sa/admin,     true",
      "GET,    /admin/users,           spiffe://cluster.local/ns/shop/sa/checkout, false",
      "GET,    /admin/public/logo.png, -,                                          true",
      "GET,    /,                      spiffe://cluster.local/ns/ops/sa/admin,     false",
      "GET,    /elsewhere,             spiffe://cluster.local/ns/ops/sa/admin,     false",
  })
  void allowsOnlyWhatTheLongestMatchingPrefixAllows(String method, String path, String identity, boolean allowed) {
    assertThat(policy.allows(method, path, identity)).isEqualTo(allowed);
  }

  /**
   * Ways to write /admin that some application reads as /admin, sent by a caller only /catalog admits: all
   * denied. The caller /admin admits gets through where the path is readable; an unreadable path (a bad
   * escape, invalid UTF-8, NUL, above the root, not absolute) is denied to everyone.
   */
  @ParameterizedTest(name = "{0}: admin allowed {1}")
  @CsvSource({
      "/catalog/../admin/users, true", "/catalog/%2e%2e/admin/users, true", "/catalog/%2E%2E/admin, true",
      "//admin/users, true", "/./admin/users, true", "/%61dmin/users, true", "/admin;jsessionid=1/users, true",
      "/catalog/..;x/admin, true", "'/catalog\\..\\admin', true", "/catalog%2F..%2Fadmin, true",
      "http://payment/admin/users, true", "/admin%00/users, false", "/%zz/catalog, false", "/../catalog, false",
      "catalog, false", "/caf%C3/catalog, false"})
  void encodedDottedOrParameterisedPathsCannotSlipPastTheirRule(String path, boolean adminAllowed) {
    AuthorizationPolicy open = AuthorizationPolicy.parse("/catalog = *; /admin = spiffe://ops");
    assertThat(open.allows("GET", path, "spiffe://intruder")).as(path).isFalse();
    assertThat(open.allows("GET", path, "spiffe://ops")).as(path).isEqualTo(adminAllowed);
  }

  @Test
  void readablePathVariantsOfAnAllowedPrefixStayAllowed() {
    AuthorizationPolicy open = AuthorizationPolicy.parse("/catalog = *");
    for (String path : List.of("/catalog", "/catalog/", "/catalog//x", "/catalog/./x", "/catalog/%78", "/catalog;v=1/x",
        "/catalog/caf%C3%A9")) {
      assertThat(open.allows("GET", path, "spiffe://a")).as(path).isTrue();
    }
  }

  @Test
  void unsetAllowsEverythingAndLabelsAreBoundedToTheNamedIdentities() {
    AuthorizationPolicy none = AuthorizationPolicy.from(Settings.of(Map.of()));
    assertThat(none.allowsEverything()).isTrue();
    assertThat(none.allows("DELETE", "/anything", null)).isTrue();
    assertThat(policy.identities()).containsExactlyInAnyOrder(CHECKOUT, "spiffe://cluster.local/ns/ops/sa/admin");
    assertThat(policy.label(CHECKOUT)).isEqualTo(CHECKOUT);
    assertThat(policy.label("spiffe://cluster.local/ns/shop/sa/cart")).isEqualTo(AuthorizationPolicy.OTHER_IDENTITY);
    assertThat(policy.label(null)).isEqualTo(AuthorizationPolicy.NO_IDENTITY);
  }

  @Test
  void readsAFileNamedWithAnAt() throws Exception {
    Path file = Files.writeString(dir.resolve("authz.policy"), POLICY);
    AuthorizationPolicy fromFile = AuthorizationPolicy.from(Settings.of(Map.of("AUTHZ_POLICY", "@" + file)));
    assertThat(fromFile.allows("POST", "/payments", CHECKOUT)).isTrue();
    assertThat(fromFile.allows("POST", "/payments", "spiffe://x")).isFalse();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/payments POST                 | AUTHZ_POLICY=\"/payments POST\": expected <path prefix> [METHODS] = <identities> (rule 1); there is no =",
      "/a = x; payments = x           | AUTHZ_POLICY=\"payments = x\": expected a path prefix starting with / (rule 2); \"payments\" does not",
      "/a GET POST = x                | AUTHZ_POLICY=\"/a GET POST = x\": expected <path prefix> [METHODS] = <identities> (rule 1); \"POST\" is one word too many (methods are comma-separated, without spaces)",
      "/a get = x                     | AUTHZ_POLICY=\"/a get = x\": expected HTTP methods in upper case, comma-separated, such as GET,HEAD (rule 1); \"get\" is not one",
      "/a = x,,y                      | AUTHZ_POLICY=\"/a = x,,y\": expected identities after =, comma-separated (an identity, a prefix ending in *, * for any verified peer, or anyone) (rule 1); one is empty",
      "/a = spiffe://a spiffe://b     | AUTHZ_POLICY=\"/a = spiffe://a spiffe://b\": expected identities without spaces, comma-separated (rule 1); \"spiffe://a spiffe://b\" has a space (a missing comma?)",
      "/a = spiffe://*/sa/x           | AUTHZ_POLICY=\"/a = spiffe://*/sa/x\": expected * only at the end of an identity (a prefix) (rule 1); \"spiffe://*/sa/x\" has it elsewhere",
      "/a/* = x                       | AUTHZ_POLICY=\"/a/* = x\": expected a path prefix of printable ASCII without ? # or * (rule 1) (a prefix covers everything below it already; write other characters percent-encoded)",
      "/../a = x                      | AUTHZ_POLICY=\"/../a = x\": expected a readable path prefix (rule 1); \"/../a\" has a bad %-escape or climbs above / with ..",
      " ;  ;                          | AUTHZ_POLICY=\";  ;\": expected at least one rule, <path prefix> [METHODS] = <identities>; leave AUTHZ_POLICY unset to allow everything",
  })
  void badRulesAreOneLineNamingTheVariableAndTheRule(String value, String problem) {
    Settings settings = Settings.of(Map.of("AUTHZ_POLICY", value));
    AuthorizationPolicy.from(settings);
    assertThatThrownBy(settings::validate).isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).problems()).containsExactly(problem));
  }

  @Test
  void aBadLineInAFileIsNamedByItsLineNumber() throws Exception {
    Path file = Files.writeString(dir.resolve("authz.policy"), "# comment\n/a = x\n\n/b GET POST = y\n");
    Settings settings = Settings.of(Map.of("AUTHZ_POLICY", "@" + file));
    AuthorizationPolicy.from(settings);
    assertThatThrownBy(settings::validate).isInstanceOf(ConfigException.class)
        .hasMessageContaining("(" + file + " line 4)");
    Settings missing = Settings.of(Map.of("AUTHZ_POLICY", "@" + dir.resolve("nope")));
    AuthorizationPolicy.from(missing);
    assertThatThrownBy(missing::validate).hasMessageStartingWith("AUTHZ_POLICY=\"@" + dir.resolve("nope")
        + "\": expected the rules, or @ and a readable file of them");
  }
}
