package dev.sidecars.runtime.propagation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sidecars.runtime.config.ConfigException;
import dev.sidecars.runtime.config.Settings;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code OTEL_PROPAGATORS} as the runtime reads it, once, for every sidecar. */
class PropagationNamesTest {
  private static List<String> names(String value) {
    Settings settings = Settings.of(value == null ? Map.of() : Map.of("OTEL_PROPAGATORS", value));
    List<String> names = Propagation.names(settings);
    settings.validate();
    return names;
  }

  private static List<String> problems(String value) {
    Settings settings = Settings.of(Map.of("OTEL_PROPAGATORS", value));
    Propagation.names(settings);
    return catchThrowableOfType(ConfigException.class, settings::validate).problems();
  }

  @Test
  void unsetMeansTheSdkDefault() {
    assertThat(names(null)).containsExactly("tracecontext", "baggage");
    assertThat(names(" ")).containsExactly("tracecontext", "baggage");
  }

  @Test
  void namesAreReadInOrderWithoutCaseOrRepeats() {
    assertThat(names("B3Multi, tracecontext,b3multi ,jaeger")).containsExactly("b3multi", "tracecontext", "jaeger");
  }

  @Test
  void anUnknownNameIsOneProblemNamingTheVariable() {
    assertThat(problems("tracecontext,carrier-pigeon")).singleElement()
        .satisfies(line -> assertThat(line).startsWith("OTEL_PROPAGATORS=").contains("carrier-pigeon").contains("b3multi"));
  }

  @Test
  void noneCannotBeCombined() {
    assertThat(problems("none,b3")).singleElement().satisfies(line -> assertThat(line).startsWith("OTEL_PROPAGATORS="));
    assertThat(names("none")).containsExactly("none");
    assertThat(Propagation.of(List.of("none")).propagator().fields()).isEmpty();
  }

  @Test
  void fieldsNameEveryHeaderOfTheConfiguredFormats() {
    assertThat(Propagation.of(List.of("tracecontext", "baggage")).propagator().fields())
        .containsExactly("traceparent", "tracestate", "baggage");
    assertThat(Propagation.of(List.of("b3")).propagator().fields())
        .as("every B3 header, whichever form goes out, so none is sent on stale")
        .contains("b3", "X-B3-TraceId", "X-B3-SpanId", "X-B3-ParentSpanId", "X-B3-Sampled", "X-B3-Flags");
  }
}
