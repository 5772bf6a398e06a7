package dev.sidecars.collector.ui;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.logs.Logger;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.export.SimpleLogRecordProcessor;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Telemetry shaped as the demo's sidecars send it, through the real SDK and its OTLP/HTTP exporters, one
 * SDK per process: the payment trace across three processes, a span whose parent has not arrived, log
 * records arriving out of time order, and one counter name from two processes of a service.
 */
final class DemoTelemetry {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private DemoTelemetry() {}

  /** A process of the demo: its service, and which sidecar it is. */
  private static Resource process(String service, String sidecar) {
    return Resource.getDefault().merge(Resource.create(Attributes.builder()
        .put("service.name", service)
        .put("service.instance.id", UUID.randomUUID().toString())
        .put("sidecar.name", sidecar)
        .put("deployment.environment.name", "demo")
        .build()));
  }

  private static SdkTracerProvider tracing(String otlp, Resource resource) {
    return SdkTracerProvider.builder().setResource(resource)
        .addSpanProcessor(SimpleSpanProcessor.create(OtlpHttpSpanExporter.builder().setEndpoint(otlp + "/v1/traces").build()))
        .build();
  }

  /**
   * One payment, a minute and a half ago: payment's SERVER span (its metrics-proxy), its gRPC CLIENT span to
   * fraud-check (its trace-injector), fraud-check's gRPC SERVER span (its metrics-proxy). Returns the trace id.
   */
  static String sendPaymentTrace(String otlp) {
    Instant start = Instant.now().minusSeconds(90);
    SdkTracerProvider paymentProxy = tracing(otlp, process("payment", "metrics-proxy"));
    SdkTracerProvider paymentInjector = tracing(otlp, process("payment", "trace-injector"));
    SdkTracerProvider fraudProxy = tracing(otlp, process("fraud-check", "metrics-proxy"));
    try {
      Span server = paymentProxy.get("metrics-proxy").spanBuilder("POST /payments").setSpanKind(SpanKind.SERVER)
          .setStartTimestamp(start)
          .setAttribute("http.request.method", "POST").setAttribute("url.path", "/payments")
          .setAttribute("http.route", "/payments").setAttribute("server.address", "localhost")
          .setAttribute("server.port", 17001L).setAttribute("client.address", "127.0.0.1")
          .setAttribute("http.response.status_code", 201L).setAttribute("http.request.body.size", 16L)
          .setAttribute("http.response.body.size", 151L).startSpan();
      // payment calls fraud-check over gRPC: both sides of the hop are RPC spans, as the sidecars record them.
      Span client = paymentInjector.get("trace-injector").spanBuilder(CHECK).setSpanKind(SpanKind.CLIENT)
          .setParent(Context.root().with(server)).setStartTimestamp(start.plusMillis(4))
          .setAllAttributes(rpc()).setAttribute("peer.service", "fraud-check")
          .setAttribute("server.address", "fraud-check").setAttribute("server.port", 17011L)
          .setAttribute("url.full", "http://127.0.0.1:17011/" + CHECK).startSpan();
      Span fraud = fraudProxy.get("metrics-proxy").spanBuilder(CHECK).setSpanKind(SpanKind.SERVER)
          .setParent(Context.root().with(client)).setStartTimestamp(start.plusMillis(11))
          .setAllAttributes(rpc()).setAttribute("http.route", "/demo.fraud.v1.FraudCheck/{method}")
          .setAttribute("server.address", "127.0.0.1").setAttribute("server.port", 17011L).startSpan();
      fraud.end(start.plusMillis(29));
      client.end(start.plusMillis(36));
      server.end(start.plusMillis(43));
      for (SdkTracerProvider provider : List.of(paymentProxy, paymentInjector, fraudProxy)) {
        awaitSuccess(provider.forceFlush(), "span export");
      }
      return server.getSpanContext().getTraceId();
    } finally {
      paymentProxy.close();
      paymentInjector.close();
      fraudProxy.close();
    }
  }

  /** fraud-check's gRPC method, the name of both spans of the gRPC hop. */
  static final String CHECK = "demo.fraud.v1.FraudCheck/Check";

  /** What both sides of a successful call of {@link #CHECK} carry: the RPC attributes and the HTTP/2 ones. */
  private static Attributes rpc() {
    return Attributes.builder().put("rpc.system", "grpc").put("rpc.service", "demo.fraud.v1.FraudCheck")
        .put("rpc.method", "Check").put("rpc.grpc.status_code", 0L).put("network.protocol.version", "2")
        .put("http.request.method", "POST").put("url.path", "/" + CHECK).put("http.response.status_code", 200L)
        .build();
  }

  /** A span of a trace whose parent span (another process's) has not been exported yet; returns the trace id. */
  static String sendSpanWithoutItsParent(String otlp, String service, String operation) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    SpanContext parent = SpanContext.createFromRemoteParent(
        String.format("%016x%016x", random.nextLong() | 1, random.nextLong()),
        String.format("%016x", random.nextLong() | 1), TraceFlags.getSampled(), TraceState.getDefault());
    SdkTracerProvider provider = tracing(otlp, process(service, "trace-injector"));
    try {
      Span span = provider.get("trace-injector").spanBuilder(operation).setSpanKind(SpanKind.CLIENT)
          .setParent(Context.root().with(Span.wrap(parent))).startSpan();
      span.end();
      awaitSuccess(provider.forceFlush(), "span export");
      return parent.getTraceId();
    } finally {
      provider.close();
    }
  }

  /** Three records written a second apart, sent second, first, third: arrival order is not time order. */
  static void sendLogsOutOfOrder(String otlp, String service) {
    Instant written = Instant.now().minusSeconds(60);
    SdkLoggerProvider provider = SdkLoggerProvider.builder().setResource(process(service, "log-forwarder"))
        .addLogRecordProcessor(SimpleLogRecordProcessor.create(
            OtlpHttpLogRecordExporter.builder().setEndpoint(otlp + "/v1/logs").build()))
        .build();
    try {
      Logger logger = provider.get("log-forwarder");
      for (int n : new int[] {2, 1, 3}) {
        logger.logRecordBuilder().setTimestamp(written.plusSeconds(n)).setSeverity(Severity.INFO)
            .setBody("written " + List.of("first", "second", "third").get(n - 1)).emit();
        // One at a time, so they arrive in the order sent.
        awaitSuccess(provider.forceFlush(), "log export");
      }
    } finally {
      provider.close();
    }
  }

  /**
   * The same counter from a service's metrics-proxy and trace-injector, exported {@code exports} times; the
   * metrics-proxy also has an empty {@code _OVERFLOW} series, as the sidecars' series limit keeps one.
   */
  static void sendOneCounterFromTwoProcesses(String otlp, String service, String name, int exports) {
    List<String> sidecars = List.of("metrics-proxy", "trace-injector");
    List<SdkMeterProvider> providers = sidecars.stream().map(sidecar -> SdkMeterProvider.builder()
        .setResource(process(service, sidecar))
        // Exported by forceFlush below; the interval only has to be longer than the test.
        .registerMetricReader(PeriodicMetricReader.builder(
                OtlpHttpMetricExporter.builder().setEndpoint(otlp + "/v1/metrics").build())
            .setInterval(Duration.ofHours(1)).build())
        .build()).toList();
    try {
      List<LongCounter> counters = providers.stream()
          .map(p -> p.get("ui-test").counterBuilder(name).setDescription("One name, two processes.").build()).toList();
      counters.get(0).add(0, Attributes.of(AttributeKey.stringKey("http.route"), "_OVERFLOW"));
      for (int export = 1; export <= exports; export++) {
        counters.get(0).add(export);
        counters.get(1).add(10L * export);
        for (SdkMeterProvider provider : providers) {
          awaitSuccess(provider.forceFlush(), "metric export");
        }
      }
    } finally {
      providers.forEach(SdkMeterProvider::close);
    }
  }

  /** Waits for an SDK flush, which must succeed. */
  static void awaitSuccess(CompletableResultCode result, String what) {
    assertThat(result.join(TIMEOUT.toSeconds(), TimeUnit.SECONDS).isSuccess()).as(what).isTrue();
  }
}
