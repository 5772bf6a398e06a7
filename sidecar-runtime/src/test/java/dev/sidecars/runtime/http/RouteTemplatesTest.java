package dev.sidecars.runtime.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RouteTemplatesTest {
  private final RouteTemplates routes =
      RouteTemplates.parse(List.of("/users/{id}", "/orders/{id}/items", "/static/*", "/", "/health"));

  @Test
  void matchesParametersOneSegmentEach() {
    assertThat(routes.match("/users/42")).hasValue("/users/{id}");
    assertThat(routes.match("/users/42/")).hasValue("/users/{id}");
    assertThat(routes.match("/orders/7/items")).hasValue("/orders/{id}/items");
    assertThat(routes.match("/users/42/orders")).isEmpty();
    assertThat(routes.match("/users")).isEmpty();
    assertThat(routes.match("/users//")).isEmpty();
  }

  @Test
  void aFinalStarMatchesTheRestAndLiteralsMatchExactly() {
    assertThat(routes.match("/static/css/site.css")).hasValue("/static/*");
    assertThat(routes.match("/static")).hasValue("/static/*");
    assertThat(routes.match("/")).hasValue("/");
    assertThat(routes.match("/health")).hasValue("/health");
    assertThat(routes.match("/healthz")).isEmpty();
  }

  @Test
  void unmatchedPathsShareOneLabel() {
    assertThat(routes.label("/anything/else")).isEqualTo(RouteTemplates.UNMATCHED);
    assertThat(RouteTemplates.none().label("/users/1")).isEqualTo(RouteTemplates.UNMATCHED);
  }

  @Test
  void aHundredThousandDistinctPathsGiveNoMoreLabelsThanTemplatesPlusOne() {
    Set<String> labels = new HashSet<>();
    for (int i = 0; i < 100_000; i++) {
      labels.add(routes.label("/users/" + i));
      labels.add(routes.label("/random/" + i + "/x"));
      labels.add(routes.label("/static/" + i + "/" + Integer.toHexString(i * 31)));
    }
    assertThat(labels).containsExactlyInAnyOrder("/users/{id}", "/static/*", RouteTemplates.UNMATCHED);
  }

  @Test
  void refusesMalformedTemplates() {
    assertThatThrownBy(() -> RouteTemplates.parse(List.of("users/{id}"))).hasMessageContaining("users/{id}");
    assertThatThrownBy(() -> RouteTemplates.parse(List.of("/users/{id"))).hasMessageContaining("malformed");
    assertThatThrownBy(() -> RouteTemplates.parse(List.of("/*/x"))).hasMessageContaining("*");
  }
}
