package dev.sidecars.collector.query;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sidecars.collector.Signal;
import dev.sidecars.collector.faults.Fault;
import dev.sidecars.collector.faults.FaultPlan;
import dev.sidecars.collector.ingest.IngestStats;
import dev.sidecars.collector.store.TelemetryStore;
import dev.sidecars.collector.store.TraceId;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.resource.ClassPathResourceManager;
import io.undertow.server.handlers.resource.ResourceHandler;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The query API and web UI on {@code UI_PORT}: Jaeger-shaped traces, logs, metrics, stats, emptying the
 * store, and scripting faults. Bad parameters are answered 400 with a JSON reason, never 500.
 *
 * <p>Writes ({@code POST} and {@code DELETE}) are refused 403 when a browser sends them from another origin
 * (an {@code Origin} that is not this host, or {@code Sec-Fetch-Site: cross-site}): a page elsewhere must not
 * script faults into or empty a stub it can reach. A fault must be sent as {@code application/json} (415
 * otherwise), which no cross-origin page can send without a preflight this API never grants.
 */
public final class QueryApi implements HttpHandler {
  private static final int DEFAULT_LIMIT = 100;
  private static final HttpString SEC_FETCH_SITE = new HttpString("Sec-Fetch-Site");
  private static final Set<String> FAULT_FIELDS = Set.of("signal", "status", "retryAfterSeconds", "times", "rejectPartially");

  private final TelemetryStore store;
  private final FaultPlan faults;
  private final IngestStats stats;
  private final HttpHandler ui;

  public QueryApi(TelemetryStore store, FaultPlan faults, IngestStats stats) {
    this.store = store;
    this.faults = faults;
    this.stats = stats;
    this.ui = new ResourceHandler(new ClassPathResourceManager(QueryApi.class.getClassLoader(), "ui"))
        .setWelcomeFiles("index.html");
  }

  /** A request the API refuses, with the status and reason to answer. */
  private static final class BadRequest extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;

    BadRequest(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    String path = exchange.getRelativePath();
    if (!path.startsWith("/api/") && !path.equals("/healthz") && !path.equals("/readyz")) {
      if (!exchange.getRequestMethod().equals(Methods.GET) && !exchange.getRequestMethod().equals(Methods.HEAD)) {
        json(exchange, 405, Map.of("error", "the UI is read-only"));
        return;
      }
      ui.handleRequest(exchange);
      return;
    }
    if (exchange.isInIoThread()) {
      exchange.dispatch(this);
      return;
    }
    try {
      route(exchange, path, exchange.getRequestMethod());
    } catch (BadRequest e) {
      json(exchange, e.status, Map.of("error", e.getMessage()));
    }
  }

  private void route(HttpServerExchange exchange, String path, HttpString method) throws Exception {
    if ((method.equals(Methods.POST) || method.equals(Methods.DELETE)) && crossOrigin(exchange)) {
      throw new BadRequest(403, "writes are not accepted from another origin");
    }
    if (path.equals("/healthz") || path.equals("/readyz")) {
      only(method, Methods.GET);
      json(exchange, 200, Map.of("status", "ok"));
    } else if (path.equals("/api/services")) {
      only(method, Methods.GET);
      json(exchange, 200, Map.of("data", store.services()));
    } else if (path.equals("/api/traces")) {
      only(method, Methods.GET);
      List<Object> traces = store.spans()
          .traces(param(exchange, "service"), param(exchange, "operation"), limit(exchange)).stream()
          .map(t -> (Object) JaegerTraces.trace(t)).toList();
      json(exchange, 200, Map.of("data", traces));
    } else if (path.startsWith("/api/traces/")) {
      only(method, Methods.GET);
      String id = path.substring("/api/traces/".length());
      TraceId traceId = TraceId.parse(id)
          .orElseThrow(() -> new BadRequest(400, "trace id \"" + id + "\" is not hex (up to 32 characters)"));
      var trace = store.spans().trace(traceId)
          .orElseThrow(() -> new BadRequest(404, "trace " + traceId.hex() + " not found"));
      json(exchange, 200, Map.of("data", List.of(JaegerTraces.trace(trace))));
    } else if (path.equals("/api/logs")) {
      only(method, Methods.GET);
      String traceId = param(exchange, "traceId");
      if (traceId != null) {
        traceId = TraceId.parse(traceId)
            .orElseThrow(() -> new BadRequest(400, "traceId is not hex (up to 32 characters)")).hex();
      }
      List<Object> logs = store.logs().newest(param(exchange, "service"), traceId, limit(exchange)).stream()
          .map(r -> (Object) LogRecords.toJson(r)).toList();
      json(exchange, 200, Map.of("data", logs));
    } else if (path.equals("/api/metrics")) {
      only(method, Methods.GET);
      var points = store.metricPoints().newest(param(exchange, "service"), param(exchange, "name"), limit(exchange));
      json(exchange, 200, Map.of("data", MetricPointsJson.toJson(points, positive(exchange, "pointsPerSeries",
          Integer.MAX_VALUE))));
    } else if (path.equals("/api/stats")) {
      only(method, Methods.GET);
      Map<String, Object> body = new LinkedHashMap<>(stats.snapshot());
      body.put("dropped", store.spans().evicted() + store.logs().evicted() + store.metricPoints().evicted());
      body.put("stored", Map.of(
          "spans", store.spans().size(), "logs", store.logs().size(), "metricPoints", store.metricPoints().size()));
      json(exchange, 200, body);
    } else if (path.equals("/api/data")) {
      only(method, Methods.DELETE);
      store.clear();
      json(exchange, 200, Map.of("status", "emptied"));
    } else if (path.equals("/api/faults")) {
      faults(exchange, method);
    } else {
      throw new BadRequest(404, "no such endpoint: " + path);
    }
  }

  private void faults(HttpServerExchange exchange, HttpString method) throws BadRequest, IOException {
    if (method.equals(Methods.GET)) {
      List<Object> list = faults.list().stream().map(p -> (Object) faultJson(p)).toList();
      json(exchange, 200, Map.of("data", list));
    } else if (method.equals(Methods.DELETE)) {
      json(exchange, 200, Map.of("cleared", faults.clear()));
    } else if (method.equals(Methods.POST)) {
      String contentType = exchange.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
      if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("application/json")) {
        throw new BadRequest(415, "send the fault as Content-Type: application/json");
      }
      exchange.startBlocking();
      JsonNode body;
      try {
        body = Json.MAPPER.readTree(exchange.getInputStream());
      } catch (IOException e) {
        throw new BadRequest(400, "the fault must be a JSON object: " + e.getMessage().split("\n")[0]);
      }
      json(exchange, 201, faultJson(faults.add(parseFault(body))));
    } else {
      exchange.getResponseHeaders().put(Headers.ALLOW, "GET, POST, DELETE");
      throw new BadRequest(405, "use GET, POST or DELETE");
    }
  }

  /** A browser request from a page of another origin than this host. */
  private static boolean crossOrigin(HttpServerExchange exchange) {
    var headers = exchange.getRequestHeaders();
    if ("cross-site".equalsIgnoreCase(headers.getFirst(SEC_FETCH_SITE))) {
      return true;
    }
    String origin = headers.getFirst(Headers.ORIGIN);
    if (origin == null) {
      return false; // not sent by a browser's cross-origin request (curl, tests, the SDKs)
    }
    String host = headers.getFirst(Headers.HOST);
    int scheme = origin.indexOf("://");
    return host == null || scheme < 0 || !origin.substring(scheme + 3).equalsIgnoreCase(host);
  }

  static Fault parseFault(JsonNode body) throws BadRequest {
    if (body == null || !body.isObject()) {
      throw new BadRequest(400, "the fault must be a JSON object");
    }
    for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FAULT_FIELDS.contains(name)) {
        throw new BadRequest(400, "unknown field \"" + name + "\"; a fault has " + String.join(", ", FAULT_FIELDS.stream().sorted().toList()));
      }
    }
    String signalName = body.path("signal").asText("all");
    Optional<Signal> signal = Signal.fromPathName(signalName);
    if (signal.isEmpty() && !signalName.equals("all")) {
      throw new BadRequest(400, "signal must be traces, metrics, logs or all");
    }
    try {
      return new Fault(
          signal,
          intField(body, "status", 0),
          body.has("retryAfterSeconds") ? Optional.of(intField(body, "retryAfterSeconds", 0)) : Optional.empty(),
          intField(body, "times", 1),
          intField(body, "rejectPartially", 0));
    } catch (IllegalArgumentException e) {
      throw new BadRequest(400, e.getMessage());
    }
  }

  private static int intField(JsonNode body, String name, int defaultValue) throws BadRequest {
    JsonNode v = body.get(name);
    if (v == null || v.isNull()) {
      return defaultValue;
    }
    if (!v.canConvertToInt() || !v.isIntegralNumber()) {
      throw new BadRequest(400, name + " must be a whole number");
    }
    return v.intValue();
  }

  private static Map<String, Object> faultJson(FaultPlan.Pending p) {
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("id", p.id());
    j.put("signal", p.fault().signalName());
    if (p.fault().isPartialSuccess()) {
      j.put("rejectPartially", p.fault().rejectPartially());
    } else {
      j.put("status", p.fault().status());
    }
    p.fault().retryAfterSeconds().ifPresent(s -> j.put("retryAfterSeconds", s));
    j.put("times", p.fault().times());
    j.put("remaining", p.remaining());
    return j;
  }

  private static void only(HttpString method, HttpString allowed) throws BadRequest {
    if (!method.equals(allowed) && !(allowed.equals(Methods.GET) && method.equals(Methods.HEAD))) {
      throw new BadRequest(405, "use " + allowed);
    }
  }

  private static String param(HttpServerExchange exchange, String name) {
    Deque<String> values = exchange.getQueryParameters().get(name);
    if (values == null || values.isEmpty() || values.getFirst().isBlank()) {
      return null;
    }
    return values.getFirst().trim();
  }

  private static int limit(HttpServerExchange exchange) throws BadRequest {
    return positive(exchange, "limit", DEFAULT_LIMIT);
  }

  private static int positive(HttpServerExchange exchange, String name, int defaultValue) throws BadRequest {
    String value = param(exchange, name);
    if (value == null) {
      return defaultValue;
    }
    try {
      int number = Integer.parseInt(value);
      if (number >= 1) {
        return number;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw new BadRequest(400, name + " must be a whole number of at least 1");
  }

  private static void json(HttpServerExchange exchange, int status, Object body) {
    exchange.setStatusCode(status);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
    exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-store");
    exchange.getResponseSender().send(Json.write(body), StandardCharsets.UTF_8);
  }
}
