package dev.sidecars.chart;

import static dev.sidecars.chart.ChartRenderingTest.container;
import static dev.sidecars.chart.ChartRenderingTest.env;
import static dev.sidecars.chart.ChartRenderingTest.mounts;
import static dev.sidecars.chart.ChartRenderingTest.podOf;
import static dev.sidecars.chart.ChartRenderingTest.volume;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS in the chart: a Secret or a cert-manager Certificate mounted into the sidecars that speak TLS, their
 * modes, the authorization policy and rate limits, and the two-service mTLS example.
 */
class ChartTlsTest {
  @TempDir Path scratch;
  private Chart chart;

  @BeforeEach
  void setUp() {
    chart = new Chart(Chart.directory(), scratch);
  }

  @Test
  void byDefaultNoSidecarSpeaksTlsAndNothingIsMounted() {
    RenderedChart rendered = chart.render("traceInjector: {enabled: true}\n");
    PodSpec pod = podOf(rendered);
    assertThat(env(container(pod, "metrics-proxy"))).doesNotContainKeys("TLS_MODE", "TLS_CERT_FILE", "AUTHZ_POLICY",
        "RATE_LIMITS");
    assertThat(env(container(pod, "trace-injector"))).doesNotContainKeys("UPSTREAM_TLS", "TLS_CERT_FILE");
    assertThat(pod.getVolumes()).extracting(Volume::getName).doesNotContain("sidecar-tls");
    assertThat(rendered.ofKind("Certificate")).isEmpty();
    assertThat(pod.getServiceAccountName()).isNull();
  }

  @Test
  void aSecretIsMountedReadOnlyIntoTheSidecarsThatSpeakTls() {
    PodSpec pod = podOf(chart.render("""
        tls: {secretName: payment-tls}
        metricsProxy:
          tls: {mode: mtls}
          authzPolicy: |
            /payments POST = spiffe://cluster.local/ns/shop/sa/checkout
            /healthz = anyone
          rateLimits: "/search=20/s; *=1000/s"
        traceInjector: {enabled: true}
        """));
    Container proxy = container(pod, "metrics-proxy");
    assertThat(env(proxy))
        .containsEntry("TLS_MODE", "mtls")
        .containsEntry("TLS_CERT_FILE", "/etc/sidecar-tls/tls.crt")
        .containsEntry("TLS_KEY_FILE", "/etc/sidecar-tls/tls.key")
        .containsEntry("TLS_CA_FILE", "/etc/sidecar-tls/ca.crt")
        .containsEntry("TLS_HANDSHAKE_TIMEOUT", "10s")
        .containsEntry("AUTHZ_POLICY", "/payments POST = spiffe://cluster.local/ns/shop/sa/checkout\n/healthz = anyone\n")
        .containsEntry("RATE_LIMITS", "/search=20/s; *=1000/s");
    VolumeMount mount = mounts(proxy).get("/etc/sidecar-tls");
    assertThat(mount.getName()).isEqualTo("sidecar-tls");
    assertThat(mount.getReadOnly()).isTrue();
    Volume volume = volume(pod, "sidecar-tls");
    assertThat(volume.getSecret().getSecretName()).isEqualTo("payment-tls");
    assertThat(volume.getSecret().getDefaultMode()).isEqualTo(0440);
    // trace-injector with UPSTREAM_TLS off does not get the key.
    Container injector = container(pod, "trace-injector");
    assertThat(env(injector)).doesNotContainKeys("UPSTREAM_TLS", "TLS_KEY_FILE");
    assertThat(mounts(injector)).doesNotContainKey("/etc/sidecar-tls");
  }

  @Test
  void aBareYamlOffIsOff() {
    PodSpec pod = podOf(chart.render("metricsProxy: {tls: {mode: off}}\ntraceInjector: {enabled: true, upstreamTls: off}\n"));
    assertThat(env(container(pod, "metrics-proxy"))).doesNotContainKey("TLS_MODE");
    assertThat(env(container(pod, "trace-injector"))).doesNotContainKey("UPSTREAM_TLS");
  }

  @Test
  void aModeWithoutFilesIsRefusedNamingWhatIsMissing() {
    assertThatThrownBy(() -> chart.template("metricsProxy: {tls: {mode: permissive}}\n"))
        .hasMessageContaining("metricsProxy.tls.mode=permissive needs TLS files: set tls.secretName");
    assertThatThrownBy(() -> chart.template("traceInjector: {enabled: true, upstreamTls: mtls}\n"))
        .hasMessageContaining("traceInjector.upstreamTls=mtls needs TLS files");
    assertThatThrownBy(() -> chart.template("tls: {certManager: {enabled: true}}\nmetricsProxy: {tls: {mode: tls}}\n"))
        .hasMessageContaining("tls.certManager.issuerRef.name");
  }

  @Test
  @SuppressWarnings("unchecked")
  void certManagerMakesAPkcs8CertificateForThePodsIdentityAndItsSecretIsMounted() {
    RenderedChart rendered = chart.render("""
        serviceAccountName: payment
        tls:
          certManager:
            enabled: true
            issuerRef: {name: mesh-ca}
        metricsProxy: {tls: {mode: mtls}}
        """);
    GenericKubernetesResource certificate = rendered.ofKind("Certificate").get(0);
    assertThat(certificate.getApiVersion()).isEqualTo("cert-manager.io/v1");
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) certificate.getAdditionalProperties().get("spec");
    assertThat(spec).containsEntry("secretName", Chart.FULLNAME + "-tls")
        .containsEntry("uris", List.of("spiffe://cluster.local/ns/" + Chart.NAMESPACE + "/sa/payment"))
        .containsEntry("issuerRef", Map.of("name", "mesh-ca", "kind", "ClusterIssuer", "group", "cert-manager.io"));
    assertThat(spec.get("privateKey")).isEqualTo(Map.of("algorithm", "ECDSA", "size", 256, "encoding", "PKCS8",
        "rotationPolicy", "Always"));
    assertThat((List<Object>) spec.get("dnsNames")).contains(Chart.FULLNAME + "." + Chart.NAMESPACE + ".svc");
    assertThat((List<Object>) spec.get("usages")).contains("server auth", "client auth");
    PodSpec pod = podOf(rendered);
    assertThat(pod.getServiceAccountName()).isEqualTo("payment");
    assertThat(volume(pod, "sidecar-tls").getSecret().getSecretName()).isEqualTo(Chart.FULLNAME + "-tls");
  }

  @Test
  @SuppressWarnings("unchecked")
  void theTwoServiceExampleWiresMtlsBothWays() throws IOException {
    Path examples = Chart.directory().resolveSibling("examples").resolve("mtls");
    RenderedChart payment = chart.render(Files.readString(examples.resolve("payment.yaml")));
    Container paymentProxy = container(pod(payment, "payment"), "metrics-proxy");
    assertThat(env(paymentProxy)).containsEntry("TLS_MODE", "mtls").containsKeys("AUTHZ_POLICY", "RATE_LIMITS");
    assertThat(env(paymentProxy).get("AUTHZ_POLICY"))
        .contains("/payments POST,PUT = spiffe://cluster.local/ns/shop/sa/checkout");
    @SuppressWarnings("unchecked")
    Map<String, Object> paymentCert = (Map<String, Object>) payment.ofKind("Certificate").get(0)
        .getAdditionalProperties().get("spec");
    assertThat(paymentCert.get("uris")).isEqualTo(List.of("spiffe://cluster.local/ns/shop/sa/payment"));
    assertThat((List<Object>) paymentCert.get("dnsNames")).contains("payment.shop.svc");

    RenderedChart checkout = chart.render(Files.readString(examples.resolve("checkout.yaml")));
    Container injector = container(pod(checkout, "checkout"), "trace-injector");
    assertThat(env(injector)).containsEntry("UPSTREAM_TLS", "mtls").containsEntry("UPSTREAMS", "payment=http://payment:80;identity=spiffe://cluster.local/ns/shop/sa/payment")
        .containsEntry("TLS_CERT_FILE", "/etc/sidecar-tls/tls.crt");
    assertThat(mounts(injector)).containsKey("/etc/sidecar-tls");
    @SuppressWarnings("unchecked")
    Map<String, Object> checkoutCert = (Map<String, Object>) checkout.ofKind("Certificate").get(0)
        .getAdditionalProperties().get("spec");
    // The identity payment's policy names.
    assertThat(checkoutCert.get("uris")).isEqualTo(List.of("spiffe://cluster.local/ns/shop/sa/checkout"));
  }

  @Test
  void upstreamTlsSetsTheVariableMountsTheFilesAndListsEachUpstreamsIdentities() {
    PodSpec pod = podOf(chart.render("""
        tls: {secretName: pod-certs}
        traceInjector:
          enabled: true
          upstreamTls: tls
          upstreams:
            ledger: [http://ledger-a:80, http://ledger-b:80]
            quotes: https://quotes.example:443
          upstreamIdentities:
            ledger: [spiffe://cluster.local/ns/shop/sa/ledger, spiffe://cluster.local/ns/shop/sa/ledger-v2]
        """));
    Container injector = container(pod, "trace-injector");
    assertThat(env(injector)).containsEntry("UPSTREAM_TLS", "tls")
        .containsEntry("TLS_CA_FILE", "/etc/sidecar-tls/ca.crt")
        .containsEntry("UPSTREAMS", "ledger=http://ledger-a:80|http://ledger-b:80"
            + ";identity=spiffe://cluster.local/ns/shop/sa/ledger;identity=spiffe://cluster.local/ns/shop/sa/ledger-v2"
            + ",quotes=https://quotes.example:443");
    assertThat(mounts(injector)).containsKey("/etc/sidecar-tls");
    assertThat(volume(pod, "sidecar-tls").getSecret().getSecretName()).isEqualTo("pod-certs");
  }

  private static PodSpec pod(RenderedChart rendered, String deployment) {
    return rendered.get(Deployment.class, deployment).getSpec().getTemplate().getSpec();
  }
}
