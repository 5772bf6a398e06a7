package dev.sidecars.chart;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Renders the chart for several value combinations and checks the pod the cluster would run. */
class ChartRenderingTest {
  private static final String ALL_SIDECARS =
      """
      app:
        image: {repository: shop/checkout, tag: "1.2.3"}
        port: 9000
        logDir: /var/log/checkout
        readinessPath: /health
        env: [{name: FEATURE, value: "on"}]
      metricsProxy:
        enabled: true
        routes: ["/orders/{id}", "/users/{id}/cart"]
        maxConcurrentRequests: 200
        accessLog: true
      traceInjector:
        enabled: true
        httpProxy: true
        upstreams:
          ledger: http://ledger:80
          fraud-check: [http://10.0.0.5:9001, http://10.0.0.6:9001]
      logForwarder:
        enabled: true
        multilineStart: '^\\d{4}-'
      """;

  @TempDir Path scratch;
  private Chart chart;

  @BeforeEach
  void setUp() {
    chart = new Chart(Chart.directory(), scratch);
  }

  @Test
  void defaultsGiveTheAppWithMetricsProxyAsANativeSidecar() {
    RenderedChart rendered = chart.render("{}");
    PodSpec pod = podOf(rendered);

    assertThat(names(pod.getInitContainers())).containsExactly("metrics-proxy");
    assertThat(names(pod.getContainers())).containsExactly("app");
    Container proxy = pod.getInitContainers().get(0);
    assertThat(proxy.getRestartPolicy()).isEqualTo("Always");
    assertThat(proxy.getImage()).isEqualTo("metrics-proxy:" + System.getProperty("project.version"));
    assertThat(ports(proxy)).containsEntry("mp-proxy", 15001).containsEntry("mp-admin", 15090);
    assertThat(env(proxy))
        .containsEntry("TARGET_URL", "http://127.0.0.1:8080")
        .containsEntry("PROXY_PORT", "15001")
        .containsEntry("ADMIN_PORT", "15090")
        .containsEntry("READINESS_PATH", "/")
        .containsEntry("DRAIN_DELAY", "5s")
        .containsEntry("ACCESS_LOG", "off")
        .containsEntry("SHUTDOWN_GRACE", "20s")
        .containsEntry("OTEL_SERVICE_NAME", "app")
        .doesNotContainKey("OTEL_EXPORTER_OTLP_ENDPOINT");

    // 5 s preStop + 5 s drain delay + 20 s SHUTDOWN_GRACE + 10 s for the app.
    assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(40L);
    assertThat(proxy.getLifecycle().getPreStop().getExec().getCommand()).containsExactly("sleep", "5");

    Service service = rendered.get(Service.class, Chart.FULLNAME);
    assertThat(service.getSpec().getPorts().get(0).getTargetPort().getStrVal()).isEqualTo("mp-proxy");
    assertThat(service.getSpec().getSelector()).containsEntry("app.kubernetes.io/component", "app");
    Service metrics = rendered.get(Service.class, Chart.FULLNAME + "-metrics");
    assertThat(metrics.getSpec().getPorts()).extracting(p -> p.getName() + ":" + p.getPort())
        .containsExactly("mp-admin:15090");
    Map<String, String> annotations = deployment(rendered).getSpec().getTemplate().getMetadata().getAnnotations();
    assertThat(annotations)
        .containsEntry("prometheus.io/scrape", "true")
        .containsEntry("prometheus.io/port", "15090")
        .containsEntry("prometheus.io/path", "/metrics");
    assertThat(rendered.ofKind("ServiceMonitor")).isEmpty();
  }

  @Test
  void everySidecarProbesItsAdminPortAndEveryContainerIsLockedDown() {
    PodSpec pod = podOf(chart.render(ALL_SIDECARS));

    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(10001L);
    assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    for (Container c : allContainers(pod)) {
      SecurityContext sc = c.getSecurityContext();
      assertThat(sc.getReadOnlyRootFilesystem()).as(c.getName()).isTrue();
      assertThat(sc.getAllowPrivilegeEscalation()).as(c.getName()).isFalse();
      assertThat(sc.getRunAsNonRoot()).as(c.getName()).isTrue();
      assertThat(sc.getCapabilities().getDrop()).as(c.getName()).containsExactly("ALL");
      assertThat(sc.getSeccompProfile().getType()).as(c.getName()).isEqualTo("RuntimeDefault");
    }
    for (Container sidecar : pod.getInitContainers()) {
      String admin = sidecar.getPorts().stream().map(ContainerPort::getName)
          .filter(n -> n.endsWith("-admin")).findFirst().orElseThrow();
      assertProbe(sidecar.getStartupProbe(), "/healthz", admin);
      assertProbe(sidecar.getLivenessProbe(), "/healthz", admin);
      assertProbe(sidecar.getReadinessProbe(), "/readyz", admin);
      assertThat(mounts(sidecar)).as(sidecar.getName()).containsKey("/tmp");
      assertThat(env(sidecar)).as(sidecar.getName()).containsKeys("POD_NAME", "POD_NAMESPACE", "NODE_NAME");
      assertThat(fieldRefs(sidecar)).as(sidecar.getName()).containsExactly(
          Map.entry("POD_NAME", "metadata.name"),
          Map.entry("POD_NAMESPACE", "metadata.namespace"),
          Map.entry("NODE_NAME", "spec.nodeName"));
      assertThat(env(sidecar).get("OTEL_RESOURCE_ATTRIBUTES")).as(sidecar.getName()).isEqualTo(
          "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),k8s.node.name=$(NODE_NAME),"
              + "k8s.container.name=" + sidecar.getName());
    }
    // Container port names are unique in a pod; probes and Services refer to them.
    assertThat(allContainers(pod).stream().flatMap(c -> c.getPorts().stream()).map(ContainerPort::getName))
        .doesNotHaveDuplicates();
    assertProbe(pod.getContainers().get(0).getReadinessProbe(), "/health", "http");
  }

  @Test
  void egressAllowBecomesTheInjectorsAllowList() {
    PodSpec pod = podOf(chart.render("traceInjector: {enabled: true, egressAllow: ['*.svc', 'api.example.com:443']}\n"));
    assertThat(env(container(pod, "trace-injector"))).containsEntry("EGRESS_ALLOW", "*.svc,api.example.com:443");
  }

  @Test
  void allSidecarsWireTheAppToTheirPortsAndVolumes() {
    PodSpec pod = podOf(chart.render(ALL_SIDECARS));

    // The forwarder starts first so it tails from the app's first line; the proxy last, right before the app.
    assertThat(names(pod.getInitContainers()))
        .containsExactly("log-forwarder", "trace-injector", "metrics-proxy");
    Container app = pod.getContainers().get(0);
    assertThat(app.getImage()).isEqualTo("shop/checkout:1.2.3");
    assertThat(env(app))
        .containsEntry("TRACE_INJECTOR_URL", "http://127.0.0.1:15002")
        .containsEntry("HTTP_PROXY", "http://127.0.0.1:15002")
        .containsEntry("NO_PROXY", "localhost,127.0.0.1,::1")
        .containsEntry("FEATURE", "on");

    Container injector = container(pod, "trace-injector");
    assertThat(env(injector))
        .containsEntry("UPSTREAMS", "fraud-check=http://10.0.0.5:9001|http://10.0.0.6:9001,ledger=http://ledger:80");
    // The egress port is for the app in the pod only: it listens on loopback and is not declared.
    assertThat(ports(injector)).containsOnlyKeys("ti-admin").containsEntry("ti-admin", 15091);
    assertThat(env(injector)).doesNotContainKey("EGRESS_ALLOW").doesNotContainKey("PROXY_BIND_ADDRESS");

    Container proxy = container(pod, "metrics-proxy");
    assertThat(env(proxy))
        .containsEntry("TARGET_URL", "http://127.0.0.1:9000")
        .containsEntry("ROUTES", "/orders/{id},/users/{id}/cart")
        .containsEntry("READINESS_PATH", "/health")
        .containsEntry("MAX_CONCURRENT_REQUESTS", "200")
        .containsEntry("ACCESS_LOG", "on")
        .doesNotContainKey("MAX_REQUEST_BYTES");

    Container forwarder = container(pod, "log-forwarder");
    assertThat(env(forwarder))
        .containsEntry("LOG_PATHS", "/var/log/checkout/*.log")
        .containsEntry("LOG_STATE_DIR", "/var/lib/log-forwarder")
        .containsEntry("LOG_START_AT", "beginning")
        .containsEntry("LOG_FORMAT", "auto")
        .containsEntry("LOG_MULTILINE_START", "^\\d{4}-")
        .containsEntry("LOG_MAX_LINE_BYTES", "65536")
        .containsEntry("ADMIN_PORT", "15092");
    VolumeMount appLogs = mounts(app).get("/var/log/checkout");
    assertThat(appLogs.getName()).isEqualTo("app-logs");
    assertThat(appLogs.getReadOnly()).isNotEqualTo(Boolean.TRUE);
    VolumeMount forwarderLogs = mounts(forwarder).get("/var/log/checkout");
    assertThat(forwarderLogs.getName()).isEqualTo("app-logs");
    assertThat(forwarderLogs.getReadOnly()).isTrue();
    assertThat(mounts(forwarder).get("/var/lib/log-forwarder").getName()).isEqualTo("log-forwarder-state");
    assertThat(volume(pod, "app-logs").getEmptyDir().getSizeLimit().toString()).isEqualTo("512Mi");
    assertThat(volume(pod, "log-forwarder-state").getEmptyDir()).isNotNull();
    // Every mount refers to a volume of the pod.
    assertThat(allContainers(pod).stream().flatMap(c -> c.getVolumeMounts().stream()).map(VolumeMount::getName))
        .allSatisfy(name -> assertThat(volume(pod, name)).isNotNull());
  }

  @Test
  void classicModePutsTheSidecarsBesideTheApp() {
    PodSpec pod = podOf(chart.render(ALL_SIDECARS + "sidecarMode: classic\n"));

    assertThat(pod.getInitContainers()).isEmpty();
    assertThat(names(pod.getContainers()))
        .containsExactly("app", "log-forwarder", "trace-injector", "metrics-proxy");
    assertThat(pod.getContainers()).allSatisfy(c -> assertThat(c.getRestartPolicy()).isNull());
  }

  @Test
  void withoutSidecarsTheServiceGoesStraightToTheApp() {
    RenderedChart rendered = chart.render("metricsProxy: {enabled: false}\n");
    PodSpec pod = podOf(rendered);

    assertThat(pod.getInitContainers()).isEmpty();
    assertThat(names(pod.getContainers())).containsExactly("app");
    assertThat(env(pod.getContainers().get(0))).doesNotContainKey("TRACE_INJECTOR_URL");
    assertThat(rendered.get(Service.class, Chart.FULLNAME).getSpec().getPorts().get(0).getTargetPort().getStrVal())
        .isEqualTo("http");
    assertThat(rendered.find(Service.class, Chart.FULLNAME + "-metrics")).isEmpty();
    assertThat(deployment(rendered).getSpec().getTemplate().getMetadata().getAnnotations()).isNullOrEmpty();
    // No drain delay to wait for: 5 s preStop + 20 s SHUTDOWN_GRACE + 10 s.
    assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(35L);
  }

  @Test
  void terminationGraceFollowsShutdownGraceAndDrainDelay() {
    PodSpec pod = podOf(chart.render(
        "shutdownGrace: 1m\npreStopSleepSeconds: 0\nmetricsProxy: {drainDelay: 1500ms}\n"));

    assertThat(env(pod.getInitContainers().get(0))).containsEntry("SHUTDOWN_GRACE", "1m");
    assertThat(pod.getInitContainers().get(0).getLifecycle()).isNull();
    assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(2L + 60 + 10);
  }

  @Test
  void otlpEndpointGoesToEverySidecarAndDefaultsToTheDeployedBackend() {
    String sidecars = "traceInjector: {enabled: true}\nlogForwarder: {enabled: true}\n";
    PodSpec explicit = podOf(chart.render(sidecars + "otlpEndpoint: http://collector.obs:4318\n"));
    assertThat(explicit.getInitContainers()).hasSize(3).allSatisfy(c -> assertThat(env(c))
        .containsEntry("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.obs:4318"));

    RenderedChart withJaeger = chart.render(sidecars + "jaeger: {enabled: true}\n");
    assertThat(podOf(withJaeger).getInitContainers()).allSatisfy(c -> assertThat(env(c))
        .containsEntry("OTEL_EXPORTER_OTLP_ENDPOINT", "http://" + Chart.FULLNAME + "-jaeger-collector:4318"));

    RenderedChart withBoth = chart.render(sidecars + "jaeger: {enabled: true}\notelCollector: {enabled: true}\n");
    assertThat(podOf(withBoth).getInitContainers()).allSatisfy(c -> assertThat(env(c))
        .containsEntry("OTEL_EXPORTER_OTLP_ENDPOINT", "http://" + Chart.FULLNAME + "-otel-collector:4318"));
  }

  @Test
  void jaegerComesWithOtlpOnAndAUiService() {
    RenderedChart rendered = chart.render("jaeger: {enabled: true}\notelCollector: {enabled: true}\n");

    Deployment jaeger = rendered.get(Deployment.class, Chart.FULLNAME + "-jaeger");
    Container container = jaeger.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(env(container)).containsEntry("COLLECTOR_OTLP_ENABLED", "true");
    assertThat(ports(container)).containsEntry("ui", 16686).containsEntry("otlp-http", 4318);
    assertThat(container.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    Service ui = rendered.get(Service.class, Chart.FULLNAME + "-jaeger-ui");
    assertThat(ui.getSpec().getPorts()).extracting(p -> p.getPort()).containsExactly(16686);
    assertThat(ui.getSpec().getSelector()).containsEntry("app.kubernetes.io/component", "jaeger");
    // The app's Service must not pick up the Jaeger pod (they share name/instance labels).
    assertThat(rendered.get(Service.class, Chart.FULLNAME).getSpec().getSelector())
        .containsEntry("app.kubernetes.io/component", "app");

    String config = rendered.get(io.fabric8.kubernetes.api.model.ConfigMap.class, Chart.FULLNAME + "-otel-collector")
        .getData().get("config.yaml");
    assertThat(config).contains("otlp/jaeger", Chart.FULLNAME + "-jaeger-collector:4317");
    assertThat(rendered.find(Deployment.class, Chart.FULLNAME + "-otel-collector")).isPresent();
  }

  @Test
  void serviceMonitorScrapesEveryEnabledAdminPort() {
    RenderedChart rendered = chart.render(
        "traceInjector: {enabled: true}\nprometheus: {serviceMonitor: {enabled: true, labels: {release: prom}}}\n");

    List<GenericKubernetesResource> monitors = rendered.ofKind("ServiceMonitor");
    assertThat(monitors).hasSize(1);
    GenericKubernetesResource monitor = monitors.get(0);
    assertThat(monitor.getMetadata().getLabels()).containsEntry("release", "prom");
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> endpoints = (List<Map<String, Object>>) monitor.get("spec", "endpoints");
    assertThat(endpoints).extracting(e -> e.get("port")).containsExactlyInAnyOrder("mp-admin", "ti-admin");
    Service metrics = rendered.get(Service.class, Chart.FULLNAME + "-metrics");
    assertThat(metrics.getMetadata().getLabels()).containsEntry("app.kubernetes.io/component", "sidecar-metrics");
  }

  @Test
  void extraEnvAndImageRegistryApply() {
    PodSpec pod = podOf(chart.render("""
        imageRegistry: registry.example/team
        metricsProxy:
          image: {tag: "9.9.9"}
          extraEnv: [{name: JAVA_OPTS, value: "-Xmx64m"}]
        """));
    Container proxy = pod.getInitContainers().get(0);
    assertThat(proxy.getImage()).isEqualTo("registry.example/team/metrics-proxy:9.9.9");
    assertThat(env(proxy)).containsEntry("JAVA_OPTS", "-Xmx64m");
  }

  @Test
  void notesSayHowToReachTheAppTheMetricsAndJaeger() {
    String output = chart.installOutput("traceInjector: {enabled: true}\njaeger: {enabled: true}\n");

    assertThat(output)
        .contains("port-forward svc/" + Chart.FULLNAME + " 8080:80")
        .contains("port-forward svc/" + Chart.FULLNAME + "-metrics 15090 15091\n")
        .contains("curl http://localhost:15091/metrics")
        .contains("port-forward svc/" + Chart.FULLNAME + "-jaeger-ui 16686:16686")
        .contains("Telemetry goes to: http://" + Chart.FULLNAME + "-jaeger-collector:4318")
        .contains("Native sidecars need Kubernetes 1.29");
  }

  @Test
  void podmanRenderingWritesTheFieldRefsPodmanCannotResolveAsValues() {
    PodSpec pod = podOf(chart.render("{}"));
    String text = chart.template("{}");

    String podman = RenderChart.literalFieldRef(
        RenderChart.literalFieldRef(text, "metadata.namespace", "shop"), "spec.nodeName", "node-1");
    PodSpec rewritten = podOf(RenderedChart.parse(podman));

    assertThat(fieldRefs(pod.getInitContainers().get(0))).hasSize(3);
    assertThat(fieldRefs(rewritten.getInitContainers().get(0)))
        .containsExactly(Map.entry("POD_NAME", "metadata.name"));
    assertThat(env(rewritten.getInitContainers().get(0)))
        .containsEntry("POD_NAMESPACE", "shop")
        .containsEntry("NODE_NAME", "node-1");
  }

  // --- helpers

  static Deployment deployment(RenderedChart rendered) {
    return rendered.get(Deployment.class, Chart.FULLNAME);
  }

  static PodSpec podOf(RenderedChart rendered) {
    return deployment(rendered).getSpec().getTemplate().getSpec();
  }

  static List<Container> allContainers(PodSpec pod) {
    return Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream()).toList();
  }

  static List<String> names(List<Container> containers) {
    return containers.stream().map(Container::getName).toList();
  }

  static Container container(PodSpec pod, String name) {
    return allContainers(pod).stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  static Map<String, String> env(Container c) {
    Map<String, String> env = new java.util.LinkedHashMap<>();
    for (EnvVar v : c.getEnv()) {
      env.put(v.getName(), v.getValue());
    }
    return env;
  }

  static List<Map.Entry<String, String>> fieldRefs(Container c) {
    return c.getEnv().stream()
        .filter(v -> v.getValueFrom() != null && v.getValueFrom().getFieldRef() != null)
        .map(v -> Map.entry(v.getName(), v.getValueFrom().getFieldRef().getFieldPath()))
        .toList();
  }

  static Map<String, Integer> ports(Container c) {
    Map<String, Integer> ports = new java.util.LinkedHashMap<>();
    c.getPorts().forEach(p -> ports.put(p.getName(), p.getContainerPort()));
    return ports;
  }

  static Map<String, VolumeMount> mounts(Container c) {
    Map<String, VolumeMount> mounts = new java.util.LinkedHashMap<>();
    c.getVolumeMounts().forEach(m -> mounts.put(m.getMountPath(), m));
    return mounts;
  }

  static Volume volume(PodSpec pod, String name) {
    return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + name));
  }

  static void assertProbe(Probe probe, String path, String port) {
    assertThat(probe).isNotNull();
    assertThat(probe.getHttpGet().getPath()).isEqualTo(path);
    assertThat(Optional.ofNullable(probe.getHttpGet().getPort().getStrVal())).contains(port);
  }
}
