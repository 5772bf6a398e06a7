package dev.sidecars.runtime.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Scope;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SidecarMetersTest {
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String SPAN_ID = "00f067aa0ba902b7";

  @Test
  void exemplarsAppearOnlyWhereOpenMetricsAllowsThem() {
    PrometheusMeterRegistry admin = new PrometheusMeterRegistry(SidecarMeters.PROMETHEUS_CONFIG);
    MeterRegistry meters = SidecarMeters.create(admin, OpenTelemetry.noop());
    Timer timer = Timer.builder("http.server.request.duration").publishPercentileHistogram()
        .register(meters);
    SpanContext sampled = SpanContext.create(TRACE_ID, SPAN_ID, TraceFlags.getSampled(), TraceState.getDefault());
    try (Scope ignored = Span.wrap(sampled).makeCurrent()) {
      timer.record(Duration.ofMillis(12));
    }

    String page = admin.scrape("application/openmetrics-text; version=1.0.0; charset=utf-8");
    List<String> withExemplar = Arrays.stream(page.split("\n")).filter(l -> l.contains(" # {")).toList();

    assertThat(withExemplar).as("the trace is linked from the histogram").isNotEmpty()
        .anySatisfy(l -> assertThat(l).contains("trace_id=\"" + TRACE_ID + "\""));
    // OpenMetrics 1.0: exemplars on histogram buckets and counter totals only; Prometheus 2.42 refuses
    // a scrape with one on _count.
    assertThat(withExemplar).allSatisfy(l -> assertThat(l.substring(0, l.indexOf('{')))
        .matches(".*(_bucket|_total)"));
  }
}
