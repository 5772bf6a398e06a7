package dev.sidecars.runtime.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.runtime.telemetry.SidecarMeters;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every failure counted, at most one WARN per reason per minute, on a clock the test moves. */
class HandshakeFailuresTest {
  private final AtomicLong now = new AtomicLong(-5_000_000_000L); // nanoTime may be negative
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(SidecarMeters.PROMETHEUS_CONFIG);
  private final HandshakeFailures failures = new HandshakeFailures(registry, now::get);
  private final CapturedLog log = new CapturedLog(HandshakeFailures.class);
  private final InetSocketAddress peer = new InetSocketAddress("127.0.0.1", 4000);

  @AfterEach
  void close() {
    log.close();
  }

  @Test
  void countsEveryFailureAndLogsOncePerReasonPerMinuteWithHowManyWereNotLogged() {
    for (int i = 0; i < 5; i++) {
      failures.record(new SSLHandshakeException("Empty client certificate chain"), false, peer);
    }
    failures.record(HandshakeFailureReason.TIMEOUT, "stalled", peer);
    assertThat(log.at(Level.WARNING)).hasSize(2);
    assertThat(log.at(Level.WARNING).get(0)).contains("127.0.0.1:4000", "(no_client_cert)", "Empty client certificate chain");

    now.addAndGet(Duration.ofSeconds(59).toNanos());
    failures.record(new SSLHandshakeException("Empty client certificate chain"), false, peer);
    assertThat(log.at(Level.WARNING)).hasSize(2);
    now.addAndGet(Duration.ofSeconds(1).toNanos());
    failures.record(new SSLHandshakeException("Empty client certificate chain"), false, peer);
    assertThat(log.at(Level.WARNING)).hasSize(3).last().asString()
        .contains("[and 5 more no_client_cert failure(s) not logged in the last minute]");

    assertThat(failures.count(HandshakeFailureReason.NO_CLIENT_CERT)).isEqualTo(7);
    String scrape = registry.scrape();
    assertThat(scrape).contains("tls_handshake_failures_total{reason=\"no_client_cert\"} 7.0",
        "tls_handshake_failures_total{reason=\"timeout\"} 1.0",
        "tls_handshake_failures_total{reason=\"tls_on_plaintext_port\"} 0.0"); // every reason shows from the start
  }

  @Test
  void classifiesAlertsAndMessagesTheJdkUses() {
    assertThat(HandshakeFailureReason.classify(new SSLHandshakeException("Received fatal alert: certificate_expired"), true))
        .isEqualTo(HandshakeFailureReason.EXPIRED);
    assertThat(HandshakeFailureReason.classify(new SSLHandshakeException("Received fatal alert: unknown_ca"), false))
        .isEqualTo(HandshakeFailureReason.UNTRUSTED);
    assertThat(HandshakeFailureReason.classify(new SSLHandshakeException("Received fatal alert: certificate_required"), true))
        .isEqualTo(HandshakeFailureReason.NO_CLIENT_CERT);
    assertThat(HandshakeFailureReason.classify(new SSLHandshakeException("no cipher suites in common"), false))
        .isEqualTo(HandshakeFailureReason.PROTOCOL);
    assertThat(HandshakeFailureReason.classify(new java.nio.channels.ClosedChannelException(), false))
        .isEqualTo(HandshakeFailureReason.OTHER);
  }
}
