package dev.sidecars.runtime.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sidecars.runtime.telemetry.SidecarMeters;
import dev.sidecars.testing.tls.TestCa;
import dev.sidecars.testing.tls.TestCertificate;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rotation as Kubernetes and cert-manager do it, checked by content: in-place rewrites, the {@code ..data}
 * symlink swap of a Secret volume, a half-written pair, a bad file (old material kept, ERROR once, counted
 * once); the expiry gauge and the 24-hour WARN on a clock the test moves.
 */
class TlsMaterialSourceTest {
  private static final TestCa CA = TestCa.create("rotation-ca");

  @TempDir Path dir;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(SidecarMeters.PROMETHEUS_CONFIG);
  private final CapturedLog log = new CapturedLog(TlsMaterialSource.class);
  private TlsMaterialSource source;

  @AfterEach
  void close() {
    log.close();
    if (source != null) {
      source.close();
    }
  }

  private TlsFiles files() {
    return TlsFiles.of(dir.resolve("tls.crt"), dir.resolve("tls.key"), dir.resolve("ca.crt"));
  }

  private TestCertificate issue(String name) {
    return CA.leaf().uri("spiffe://cluster.local/ns/shop/sa/" + name).issue();
  }

  private double metric(String line) {
    return registry.scrape().lines().filter(l -> l.startsWith(line + " ")).mapToDouble(
        l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(Double.NaN);
  }

  @Test
  void aRewrittenPairIsTakenOnceItHasSettled() {
    issue("one").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    CA.writeCertificate(dir.resolve("ca.crt"));
    source = TlsMaterialSource.load(files(), registry, Clock.systemUTC());
    TlsMaterial first = source.current();
    assertThat(source.poll()).isFalse();
    assertThat(source.current()).isSameAs(first);

    TestCertificate two = issue("two");
    two.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    assertThat(source.poll()).as("changed since the last look: wait").isFalse();
    assertThat(source.poll()).isTrue();
    assertThat(source.current().certificate().orElseThrow().identity()).endsWith("/sa/two");
    assertThat(first.certificate().orElseThrow().identity()).as("a snapshot never changes").endsWith("/sa/one");
    assertThat(metric("tls_certificate_reloads_total")).isEqualTo(1);
    assertThat(metric("tls_certificate_expiry_timestamp_seconds"))
        .isEqualTo(two.certificate().getNotAfter().toInstant().getEpochSecond());
  }

  @Test
  void aSecretVolumesSymlinkSwapIsSeen() throws Exception {
    Path first = dir.resolve("..2026_01_01_00_00_00.1");
    Files.createDirectories(first);
    issue("one").writeTo(first.resolve("tls.crt"), first.resolve("tls.key"));
    CA.writeCertificate(first.resolve("ca.crt"));
    Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
    for (String name : new String[] {"tls.crt", "tls.key", "ca.crt"}) {
      Files.createSymbolicLink(dir.resolve(name), Path.of("..data", name));
    }
    source = TlsMaterialSource.load(files(), registry, Clock.systemUTC());
    assertThat(source.current().certificate().orElseThrow().identity()).endsWith("/sa/one");

    // What the kubelet does: a new timestamped directory, a new link, renamed over ..data, the old one removed.
    Path second = dir.resolve("..2026_02_01_00_00_00.2");
    Files.createDirectories(second);
    issue("two").writeTo(second.resolve("tls.crt"), second.resolve("tls.key"));
    CA.writeCertificate(second.resolve("ca.crt"));
    Files.createSymbolicLink(dir.resolve("..data_tmp"), second.getFileName());
    Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
    for (Path old : new Path[] {first.resolve("tls.crt"), first.resolve("tls.key"), first.resolve("ca.crt"), first}) {
      Files.delete(old);
    }
    source.poll();
    assertThat(source.poll()).isTrue();
    assertThat(source.current().certificate().orElseThrow().identity()).endsWith("/sa/two");
  }

  @Test
  void aBadRotationKeepsTheOldMaterialAndIsReportedOnceUntilFixed() throws Exception {
    issue("one").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    CA.writeCertificate(dir.resolve("ca.crt"));
    source = TlsMaterialSource.load(files(), registry, Clock.systemUTC());
    TlsMaterial first = source.current();

    TestCertificate two = issue("two");
    Files.writeString(dir.resolve("tls.crt"), two.chainPem()); // the certificate first, the key not yet
    for (int i = 0; i < 5; i++) {
      assertThat(source.poll()).isFalse();
    }
    assertThat(source.current()).isSameAs(first);
    assertThat(metric("tls_certificate_reload_failures_total")).isEqualTo(1);
    assertThat(log.at(Level.SEVERE)).singleElement().asString()
        .contains("keeping the material loaded before", "TLS_KEY_FILE=", "belongs to another certificate");

    Files.writeString(dir.resolve("tls.key"), two.privateKeyPem());
    source.poll();
    assertThat(source.poll()).isTrue();
    assertThat(source.current().certificate().orElseThrow().identity()).endsWith("/sa/two");
    assertThat(metric("tls_certificate_reload_failures_total")).isEqualTo(1);

    Files.writeString(dir.resolve("ca.crt"), "garbage");
    source.poll();
    source.poll();
    assertThat(metric("tls_certificate_reload_failures_total")).isEqualTo(2);
    assertThat(source.current().certificate().orElseThrow().identity()).endsWith("/sa/two");
  }

  @Test
  void warnsUnder24HoursFromExpiryAndAgainEachHour() {
    Instant now = Instant.now();
    MutableClock clock = new MutableClock(now);
    CA.leaf().uri("spiffe://x/sa/short").validUntil(now.plus(Duration.ofHours(26))).issue()
        .writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    CA.writeCertificate(dir.resolve("ca.crt"));
    source = TlsMaterialSource.load(files(), registry, clock);
    assertThat(log.at(Level.WARNING)).isEmpty();

    clock.advance(Duration.ofHours(2).plusMinutes(1));
    source.poll();
    assertThat(log.at(Level.WARNING)).singleElement().asString()
        .contains("spiffe://x/sa/short", "expires at", ", in 143"); // 1438 or 1439: certificates keep whole seconds
    clock.advance(Duration.ofMinutes(59));
    source.poll();
    assertThat(log.at(Level.WARNING)).hasSize(1);
    clock.advance(Duration.ofMinutes(1));
    source.poll();
    assertThat(log.at(Level.WARNING)).hasSize(2);
    clock.advance(Duration.ofHours(24));
    source.poll();
    assertThat(log.at(Level.WARNING)).hasSize(3).last().asString().contains("expired at");
  }

  @Test
  void thePollerThreadFindsARotationByItself() {
    issue("one").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    CA.writeCertificate(dir.resolve("ca.crt"));
    source = TlsMaterialSource.start(files(), registry, Clock.systemUTC(), Duration.ofMillis(20));
    issue("two").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(source.current().certificate().orElseThrow().identity()).endsWith("/sa/two"));
    source.close();
    assertThat(registry.scrape()).doesNotContain("tls_certificate_expiry_timestamp_seconds");
  }
}
