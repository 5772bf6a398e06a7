package dev.sidecars.collector.ui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidecars.collector.CollectorStub;
import dev.sidecars.collector.CollectorStubConfig;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.export.SimpleLogRecordProcessor;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/** Proves that telemetry sent by the real OpenTelemetry SDK shows up correctly in the web UI, in a real browser. */
class CollectorUiBrowserTest {

  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private static final String SERVICE = "ui-test";
  private static final String ROOT_OPERATION = "GET /checkout";
  private static final String MIDDLE_OPERATION = "load-cart";
  private static final String LEAF_OPERATION = "charge-card";
  private static final String LEAF_ATTRIBUTE = "payment.provider";
  private static final String LEAF_EVENT = "card.declined";
  private static final String LOG_BODY = "checkout started for cart 42";
  private static final String HISTOGRAM = "http.server.request.duration";
  private static final String SHARED_COUNTER = "ui.test.shared";
  private static final String ORDER_SERVICE = "ui-log-order";
  private static final String ORPHAN_OPERATION = "late-child";
  private static final int EXPORTS = 6;

  private static final By TRACE_ROW = By.cssSelector("[data-testid='trace-row']");
  private static final By ERROR_MARK = By.cssSelector("[data-testid='error-mark']");
  private static final By SPAN_ROW = By.cssSelector("[data-testid='span-row']");
  private static final By SPAN_BAR = By.cssSelector("[data-testid='span-bar']");
  private static final By SPAN_DETAILS = By.cssSelector("[data-testid='span-details']");
  private static final By LOG_ROW = By.cssSelector("[data-testid='log-row']");
  private static final By LOG_TRACE_FILTER = By.cssSelector("[data-testid='log-trace-filter']");
  private static final By LOG_TRACE_LINK = By.cssSelector("[data-testid='log-trace-link']");
  private static final By METRIC_CARD = By.cssSelector("[data-testid='metric-card']");
  private static final By HISTOGRAM_BAR = By.cssSelector("[data-testid='histogram-bar']");
  private static final By METRIC_SERIES = By.cssSelector("[data-testid='metric-series']");
  private static final By METRIC_PROCESS = By.cssSelector("[data-testid='metric-process']");
  private static final By METRIC_SERVICE = By.cssSelector("[data-testid='metric-service']");
  private static final By HIDDEN_OVERFLOW = By.cssSelector("[data-testid='hidden-overflow']");
  private static final By SPARKLINE = By.cssSelector("[data-testid='sparkline']");
  private static final By SPAN_KIND = By.cssSelector("[data-testid='span-kind']");
  private static final By SPAN_PEER = By.cssSelector("[data-testid='span-peer']");
  private static final By SPAN_RPC = By.cssSelector("[data-testid='span-rpc']");
  private static final By TRACE_ARRIVING = By.cssSelector("[data-testid='trace-arriving']");
  private static final By ARRIVING_MARK = By.cssSelector("[data-testid='arriving-mark']");

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private static CollectorStub stub;
  private static String traceId;
  private static String demoTraceId;
  private static String orphanTraceId;
  private static Path userDataDir;
  private static WebDriver driver;

  @BeforeAll
  static void sendTelemetryAndOpenBrowser() throws IOException {
    requireBrowser();
    stub = CollectorStub.start(CollectorStubConfig.builder().otlpHttpPort(0).otlpGrpcPort(0).uiPort(0).build());
    traceId = sendTelemetry(stub.otlpHttpUrl());
    demoTraceId = DemoTelemetry.sendPaymentTrace(stub.otlpHttpUrl());
    orphanTraceId = DemoTelemetry.sendSpanWithoutItsParent(stub.otlpHttpUrl(), SERVICE, ORPHAN_OPERATION);
    DemoTelemetry.sendLogsOutOfOrder(stub.otlpHttpUrl(), ORDER_SERVICE);
    DemoTelemetry.sendOneCounterFromTwoProcesses(stub.otlpHttpUrl(), SERVICE, SHARED_COUNTER, EXPORTS);
    // The UI only renders what the query API answers, so wait on the API rather than on the page.
    await().atMost(TIMEOUT).untilAsserted(() -> {
      JsonNode trace = findTrace(api("/api/traces?service=" + SERVICE));
      assertThat(trace).as("trace %s in /api/traces", traceId).isNotNull();
      assertThat(trace.path("spans")).hasSize(3);
    });
    await().atMost(TIMEOUT).untilAsserted(() ->
        assertThat(api("/api/logs?traceId=" + traceId).path("data")).isNotEmpty());
    await().atMost(TIMEOUT).untilAsserted(() ->
        assertThat(api("/api/metrics?service=" + SERVICE).path("data").findValuesAsText("name")).contains(HISTOGRAM));
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(api("/api/traces/" + demoTraceId).path("data").path(0).path("spans")).hasSize(3);
      assertThat(api("/api/logs?service=" + ORDER_SERVICE).path("data")).hasSize(3);
      assertThat(api("/api/metrics?service=" + SERVICE + "&name=" + SHARED_COUNTER + "&limit=1000").path("data")
          .findValues("points")).hasSize(2).allSatisfy(points -> assertThat(points.size()).isGreaterThanOrEqualTo(EXPORTS));
    });

    userDataDir = Files.createTempDirectory("collector-ui-chromium");
    driver = startChrome(userDataDir);
  }

  @AfterAll
  static void closeBrowserAndStub() throws Exception {
    try {
      if (driver != null) {
        driver.quit();
      }
    } finally {
      if (stub != null) {
        stub.close();
      }
      if (userDataDir != null) {
        deleteRecursively(userDataDir);
      }
    }
  }

  @BeforeEach
  void startFromABlankPage() {
    // Each test opens its own route, so none depends on where the previous one left the page.
    driver.get("about:blank");
  }

  @Test
  void tracesListShowsTheRootOperationWithAnErrorMark() {
    driver.get(stub.uiUrl() + "/#/traces?service=" + SERVICE);

    WebElement row = waitFor("trace row of " + ROOT_OPERATION, CollectorUiBrowserTest::rootTraceRow);

    assertThat(row.getText()).contains(ROOT_OPERATION).contains(SERVICE);
    assertThat(row.findElements(ERROR_MARK)).as("error mark on the trace row").hasSize(1);
  }

  @Test
  void waterfallNestsSpansAndShowsTheClickedSpansDetails() throws IOException {
    driver.get(stub.uiUrl() + "/#/traces");
    waitFor("trace row of " + ROOT_OPERATION, CollectorUiBrowserTest::rootTraceRow).click();
    waitUntil("the waterfall's URL", () -> driver.getCurrentUrl().contains("#/trace/" + traceId));

    List<WebElement> rows = waitFor("3 span rows", () -> {
      List<WebElement> found = driver.findElements(SPAN_ROW);
      return found.size() == 3 ? found : null;
    });
    assertThat(rows).extracting(r -> r.getDomAttribute("data-depth")).containsExactly("0", "1", "2");
    assertThat(rows.get(0).getText()).contains(ROOT_OPERATION);
    assertThat(rows.get(1).getText()).contains(MIDDLE_OPERATION);
    assertThat(rows.get(2).getText()).contains(LEAF_OPERATION);

    double previousLeft = -1;
    for (WebElement row : rows) {
      WebElement bar = row.findElement(SPAN_BAR);
      double left = percent(bar, "left");
      assertThat(percent(bar, "width")).as("bar width %% of %s", row.getText()).isGreaterThan(0);
      assertThat(bar.getSize().getWidth()).as("rendered bar width of %s", row.getText()).isGreaterThan(0);
      // Rows come parent first, so each bar must start at or right of the previous (its parent's) bar.
      assertThat(left).as("bar left %% of %s", row.getText()).isGreaterThanOrEqualTo(previousLeft);
      previousLeft = left;
    }

    rows.get(2).click();
    WebElement details = waitFor("span details", () -> first(SPAN_DETAILS));
    assertThat(details.getText()).contains(LEAF_ATTRIBUTE).contains("acme-pay").contains(LEAF_EVENT);
  }

  /**
   * The demo's trace as the sidecars record it: each row says which side of the call it is, the CLIENT row
   * whom it calls, and the two rows of the gRPC hop that they are gRPC calls and how they ended; a span's
   * details name the call and its status; a trace that is complete is not marked as arriving. Its picture is
   * the one README.md shows (see {@link #screenshot}).
   */
  @Test
  void waterfallRowsShowTheSpanKindAndThePeerServiceCalled() throws IOException {
    driver.get(stub.uiUrl() + "/#/trace/" + demoTraceId);

    List<WebElement> rows = waitFor("3 span rows", () -> {
      List<WebElement> found = driver.findElements(SPAN_ROW);
      return found.size() == 3 ? found : null;
    });
    assertThat(rows).extracting(r -> r.findElement(SPAN_KIND).getText()).containsExactly("SERVER", "CLIENT", "SERVER");
    assertThat(rows.get(0).getText()).contains("payment").contains("POST /payments");
    assertThat(rows.get(1).findElement(SPAN_PEER).getText()).isEqualTo("→ fraud-check");
    assertThat(rows.get(0).findElements(SPAN_PEER)).as("a SERVER span calls nobody").isEmpty();
    // An RPC row names the method without its package (the whole name on hover and in the details).
    assertThat(rows.get(1).getText()).contains("FraudCheck/Check").doesNotContain("demo.fraud.v1");
    assertThat(rows.get(2).getText()).contains("fraud-check").contains("FraudCheck/Check");
    assertThat(rows.get(2).findElement(By.cssSelector(".span-op")).getDomAttribute("title")).isEqualTo(DemoTelemetry.CHECK);
    assertThat(rows.get(0).findElements(SPAN_RPC)).as("an HTTP span is no RPC").isEmpty();
    for (WebElement rpcRow : rows.subList(1, 3)) {
      WebElement rpc = rpcRow.findElement(SPAN_RPC);
      assertThat(rpc.getText()).as("a call that ended OK").isEqualTo("grpc");
      assertThat(rpc.getDomAttribute("title")).isEqualTo("grpc call demo.fraud.v1.FraudCheck/Check, status 0 OK");
    }
    assertThat(driver.findElements(TRACE_ARRIVING)).as("a complete trace of minutes ago").isEmpty();

    screenshot(driver.findElement(By.id("view")));

    rows.get(2).click();
    WebElement details = waitFor("span details", () -> first(SPAN_DETAILS));
    // (the labels are upper-cased by the style sheet)
    assertThat(details.getText()).containsIgnoringCase("RPC\ngrpc demo.fraud.v1.FraudCheck/Check")
        .containsIgnoringCase("gRPC status\n0 OK");
  }

  @Test
  void aTraceWhoseParentSpanHasNotArrivedIsMarkedStillArriving() {
    driver.get(stub.uiUrl() + "/#/traces?service=" + SERVICE);
    WebElement row = waitFor("trace row of " + ORPHAN_OPERATION, () -> driver.findElements(TRACE_ROW).stream()
        .filter(r -> orphanTraceId.equals(r.getDomAttribute("data-trace-id"))).findFirst().orElse(null));
    assertThat(row.findElement(ARRIVING_MARK).getText()).isEqualTo("still arriving");

    driver.get(stub.uiUrl() + "/#/trace/" + orphanTraceId);
    WebElement badge = waitFor("the arriving badge", () -> first(TRACE_ARRIVING));
    assertThat(badge.getText()).isEqualTo("still arriving");
    assertThat(badge.getDomAttribute("title")).contains("parent has not arrived");
  }

  @Test
  void logsFilteredByTraceIdLinkBackToTheTrace() {
    driver.get(stub.uiUrl() + "/#/logs");
    waitFor("trace id filter", () -> first(LOG_TRACE_FILTER)).sendKeys(traceId, Keys.ENTER);
    waitUntil("the filtered URL", () -> driver.getCurrentUrl().contains("traceId=" + traceId));

    WebElement row = waitFor("log row \"" + LOG_BODY + "\"", () -> driver.findElements(LOG_ROW).stream()
        .filter(r -> r.getText().contains(LOG_BODY)).findFirst().orElse(null));
    assertThat(row.getText()).contains(SERVICE);

    row.findElement(LOG_TRACE_LINK).click();
    waitUntil("the trace's URL", () -> driver.getCurrentUrl().contains("#/trace/" + traceId));
    waitUntil("3 span rows", () -> driver.findElements(SPAN_ROW).size() == 3);
  }

  /** Sent as 2, 1, 3 (by time): shown 3, 2, 1, newest at the top, whatever the order they arrived in. */
  @Test
  void logsAreSortedByTheirTimeNewestFirst() {
    driver.get(stub.uiUrl() + "/#/logs?service=" + ORDER_SERVICE);

    List<WebElement> rows = waitFor("3 log rows", () -> {
      List<WebElement> found = driver.findElements(LOG_ROW);
      return found.size() == 3 ? found : null;
    });
    assertThat(rows).extracting(WebElement::getText).satisfiesExactly(
        first -> assertThat(first).contains("written third"),
        second -> assertThat(second).contains("written second"),
        third -> assertThat(third).contains("written first"));
    assertThat(first(By.cssSelector("[data-testid='scope']")).getText()).contains("newest first");
  }

  /**
   * Two processes of one service export a counter of the same name: one card names the service, each
   * process keeps its own series with enough points for a sparkline, and the empty overflow series is
   * hidden.
   */
  @Test
  void metricsKeepEachProcessApartWithItsHistoryAndHideEmptyOverflowSeries() {
    driver.get(stub.uiUrl() + "/#/metrics?service=" + SERVICE);

    WebElement card = waitFor("metric card " + SHARED_COUNTER, () -> card(SHARED_COUNTER));
    assertThat(card.findElement(METRIC_SERVICE).getText()).isEqualTo(SERVICE);
    List<WebElement> series = card.findElements(METRIC_SERIES);
    assertThat(series).as("one series per process; the empty _OVERFLOW one hidden").hasSize(2);
    assertThat(series).extracting(x -> x.findElement(METRIC_PROCESS).getText())
        .containsExactlyInAnyOrder("metrics-proxy", "trace-injector");
    assertThat(card.getText()).doesNotContain("_OVERFLOW");
    assertThat(card.findElement(HIDDEN_OVERFLOW).getText()).startsWith("1 empty overflow series hidden");
    for (WebElement one : series) {
      assertThat(Integer.parseInt(one.findElement(SPARKLINE).getDomAttribute("data-points")))
          .as("points in the sparkline of %s (each export, and the last at close)", one.getText())
          .isEqualTo(EXPORTS + 1);
    }
  }

  /** Under "All services" every card names its service, and request duration comes first, errors on top. */
  @Test
  void allServicesNameTheServiceOnEachCardAndShowRequestDurationFirst() {
    driver.get(stub.uiUrl() + "/#/metrics");

    List<WebElement> cards = waitFor("metric cards", () -> {
      List<WebElement> found = driver.findElements(METRIC_CARD);
      return found.size() >= 3 && card(SHARED_COUNTER) != null ? found : null;
    });
    assertThat(cards).allSatisfy(c -> assertThat(c.findElement(METRIC_SERVICE).getText()).isNotBlank());
    assertThat(cards.get(0).getDomAttribute("data-metric-name")).isEqualTo(HISTOGRAM);
    List<WebElement> series = cards.get(0).findElements(METRIC_SERIES);
    assertThat(series.get(0).getDomAttribute("data-error")).as("the 503s first").isEqualTo("true");
    assertThat(series.get(0).getText()).contains("503");
    assertThat(series.get(1).getDomAttribute("data-error")).isEqualTo("false");
  }

  @Test
  void metricsShowTheHistogramWithBucketBars() {
    driver.get(stub.uiUrl() + "/#/metrics?service=" + SERVICE);

    WebElement card = waitFor("metric card " + HISTOGRAM, () -> driver.findElements(METRIC_CARD).stream()
        .filter(c -> c.getText().contains(HISTOGRAM)).findFirst().orElse(null));

    assertThat(card.getText()).contains("histogram");
    List<WebElement> bars = card.findElements(HISTOGRAM_BAR);
    assertThat(bars).isNotEmpty();
    assertThat(bars).anySatisfy(bar -> assertThat(bar.getSize().getHeight()).isGreaterThan(0));
  }

  // Awaitility rather than WebDriverWait: selenium-support is not on the test classpath, and the page
  // re-renders on auto-refresh, so an element can go stale between finding and reading it.
  private static <T> T waitFor(String what, Callable<T> probe) {
    return await(what).atMost(TIMEOUT).pollInterval(Duration.ofMillis(100))
        .ignoreExceptionsInstanceOf(StaleElementReferenceException.class)
        .until(probe, Objects::nonNull);
  }

  private static void waitUntil(String what, Callable<Boolean> condition) {
    await(what).atMost(TIMEOUT).pollInterval(Duration.ofMillis(100))
        .ignoreExceptionsInstanceOf(StaleElementReferenceException.class)
        .until(condition);
  }

  private static WebElement card(String metric) {
    return driver.findElements(METRIC_CARD).stream()
        .filter(c -> metric.equals(c.getDomAttribute("data-metric-name"))).findFirst().orElse(null);
  }

  /**
   * Writes the picture of {@code element} to target/ui-screenshots/trace-waterfall.png, and with {@code
   * -Dui.screenshot.docs=true} over docs/images/trace-waterfall.png, the one README.md shows: it is only
   * ever replaced by what this test sees, and only when asked, so a run does not dirty the checkout.
   */
  private static void screenshot(WebElement element) throws IOException {
    byte[] png = element.getScreenshotAs(OutputType.BYTES);
    Path target = Path.of("target", "ui-screenshots", "trace-waterfall.png");
    Files.createDirectories(target.getParent());
    Files.write(target, png);
    assertThat(png.length).as("screenshot size").isBetween(8 * 1024, 200 * 1024);
    if (Boolean.getBoolean("ui.screenshot.docs")) {
      Path docs = Path.of("..", "docs", "images", "trace-waterfall.png");
      Files.createDirectories(docs.getParent());
      Files.write(docs, png);
    }
  }

  private static WebElement first(By by) {
    return driver.findElements(by).stream().findFirst().orElse(null);
  }

  private static WebElement rootTraceRow() {
    return driver.findElements(TRACE_ROW).stream()
        .filter(r -> r.getText().contains(ROOT_OPERATION))
        .findFirst()
        .orElse(null);
  }

  private static double percent(WebElement bar, String property) {
    String style = bar.getDomAttribute("style");
    Matcher m = Pattern.compile("(?:^|;)\\s*" + property + ":\\s*([\\d.]+)%").matcher(style == null ? "" : style);
    assertThat(m.find()).as("inline %s in %% in style \"%s\"", property, style).isTrue();
    return Double.parseDouble(m.group(1));
  }

  private static void requireBrowser() {
    if (Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER)) {
      return;
    }
    String message = "The UI browser test needs " + CHROMIUM + " and " + CHROMEDRIVER
        + ": install Debian's packages with `apt-get install chromium chromium-driver`.";
    if ("true".equals(System.getenv("CI"))) {
      fail(message);
    }
    Assumptions.assumeTrue(false, message);
  }

  private static WebDriver startChrome(Path profile) {
    // An explicit driver path is what keeps Selenium Manager from looking for (and downloading) one.
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
        "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort()
        .build();
    return new ChromeDriver(service, options);
  }

  /** Sends one trace (root, child, grandchild with an event and an error), one log in the root's context, and a histogram. */
  private static String sendTelemetry(String otlpBaseUrl) {
    Resource resource = Resource.getDefault()
        .merge(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), SERVICE)));
    SdkTracerProvider tracerProvider = SdkTracerProvider.builder()
        .setResource(resource)
        .addSpanProcessor(SimpleSpanProcessor.create(
            OtlpHttpSpanExporter.builder().setEndpoint(otlpBaseUrl + "/v1/traces").build()))
        .build();
    SdkLoggerProvider loggerProvider = SdkLoggerProvider.builder()
        .setResource(resource)
        .addLogRecordProcessor(SimpleLogRecordProcessor.create(
            OtlpHttpLogRecordExporter.builder().setEndpoint(otlpBaseUrl + "/v1/logs").build()))
        .build();
    SdkMeterProvider meterProvider = SdkMeterProvider.builder()
        .setResource(resource)
        // Exported by forceFlush below; the interval only has to be longer than the test.
        .registerMetricReader(PeriodicMetricReader.builder(
                OtlpHttpMetricExporter.builder().setEndpoint(otlpBaseUrl + "/v1/metrics").build())
            .setInterval(Duration.ofHours(1))
            .build())
        .build();
    try {
      Tracer tracer = tracerProvider.get("collector-ui-test");
      DoubleHistogram histogram = meterProvider.get("collector-ui-test")
          .histogramBuilder(HISTOGRAM).setUnit("ms").setDescription("Checkout duration seen by the UI test.").build();
      Span root = tracer.spanBuilder(ROOT_OPERATION).setSpanKind(SpanKind.SERVER)
          .setAttribute("http.route", "/checkout").startSpan();
      try (Scope ignoredRoot = root.makeCurrent()) {
        Span cart = tracer.spanBuilder(MIDDLE_OPERATION).setAttribute("cart.items", 3L).startSpan();
        try (Scope ignoredCart = cart.makeCurrent()) {
          Span charge = tracer.spanBuilder(LEAF_OPERATION).setSpanKind(SpanKind.CLIENT)
              .setAttribute(LEAF_ATTRIBUTE, "acme-pay").startSpan();
          charge.addEvent(LEAF_EVENT, Attributes.of(AttributeKey.stringKey("decline.code"), "insufficient_funds"));
          charge.setStatus(StatusCode.ERROR, "card declined");
          charge.end();
        } finally {
          cart.end();
        }
        loggerProvider.get("collector-ui-test").logRecordBuilder()
            .setContext(Context.current())
            .setSeverity(Severity.WARN)
            .setSeverityText("WARN")
            .setBody(LOG_BODY)
            .setAttribute(AttributeKey.stringKey("cart.id"), "42")
            .emit();
        Attributes route = Attributes.of(AttributeKey.stringKey("http.route"), "/checkout",
            AttributeKey.longKey("http.response.status_code"), 200L);
        histogram.record(7.5, route);
        histogram.record(12, route);
        histogram.record(40, route);
        histogram.record(90, Attributes.of(AttributeKey.stringKey("http.route"), "/checkout",
            AttributeKey.longKey("http.response.status_code"), 503L));
      } finally {
        root.end();
      }
      DemoTelemetry.awaitSuccess(tracerProvider.forceFlush(), "span export");
      DemoTelemetry.awaitSuccess(loggerProvider.forceFlush(), "log export");
      DemoTelemetry.awaitSuccess(meterProvider.forceFlush(), "metric export");
      return root.getSpanContext().getTraceId();
    } finally {
      tracerProvider.close();
      loggerProvider.close();
      meterProvider.close();
    }
  }

  private static JsonNode api(String pathAndQuery) throws IOException, InterruptedException {
    HttpResponse<String> response = HTTP.send(
        HttpRequest.newBuilder(URI.create(stub.uiUrl() + pathAndQuery)).timeout(Duration.ofSeconds(5)).GET().build(),
        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    assertThat(response.statusCode()).as("GET %s", pathAndQuery).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  private static JsonNode findTrace(JsonNode answer) {
    for (JsonNode trace : answer.path("data")) {
      if (traceId.equals(trace.path("traceID").asText())) {
        return trace;
      }
    }
    return null;
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // A browser profile left in the temp dir is harmless; it must not fail the test.
    }
  }
}
