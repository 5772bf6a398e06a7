package dev.sidecars.runtime.tls;

import dev.sidecars.runtime.config.ConfigException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The current {@link TlsMaterial}, re-read from its files when they change, so certificates rotate
 * without a restart. Files are polled (every {@link #DEFAULT_POLL} by default) and compared by content,
 * which catches every way of replacing them: rewritten in place, renamed over, or a Kubernetes Secret
 * mount's {@code ..data} symlink swapped (inotify-style watches miss or double-report the last). A change is
 * taken once two polls in a row read the same bytes, so a writer that replaces the certificate and then
 * the key is never caught half-way.
 *
 * <p>New material replaces the old only when it loads completely; otherwise the old one stays in use, the
 * failure is logged at ERROR and counted in {@code tls_certificate_reload_failures_total} (once per bad
 * content, not once per poll). The certificate's expiry is the gauge {@code
 * tls_certificate_expiry_timestamp_seconds}; under 24 h from expiry a WARN is logged, again every hour.
 */
public final class TlsMaterialSource implements Supplier<TlsMaterial>, AutoCloseable {
  /** How often the files are read by default. */
  public static final Duration DEFAULT_POLL = Duration.ofSeconds(5);
  /** How close to expiry a certificate is warned about. */
  public static final Duration EXPIRY_WARNING = Duration.ofHours(24);
  private static final Duration WARN_AGAIN = Duration.ofHours(1);
  private static final Logger log = Logger.getLogger(TlsMaterialSource.class.getName());

  private final TlsFiles files;
  private final Clock clock;
  private final Counter reloads;
  private final Counter reloadFailures;
  private final List<Meter> meters = new ArrayList<>();
  private final MeterRegistry registry;
  private final Object lock = new Object();
  private volatile TlsMaterial current;
  private FileBytes pending;
  private String failedFingerprint;
  private Instant lastExpiryWarning;
  private ScheduledExecutorService poller;

  private TlsMaterialSource(TlsFiles files, TlsMaterial first, MeterRegistry registry, Clock clock) {
    this.files = files;
    this.current = first;
    this.registry = registry;
    this.clock = clock;
    this.reloads = Counter.builder("tls.certificate.reloads")
        .description("TLS files re-read after a change and put in use").register(registry);
    this.reloadFailures = Counter.builder("tls.certificate.reload.failures")
        .description("Changed TLS files that could not be used; the previous material stays in use")
        .register(registry);
    meters.add(reloads);
    meters.add(reloadFailures);
    if (files.certificate().isPresent()) {
      meters.add(Gauge.builder("tls.certificate.expiry.timestamp", this, s -> s.current.notAfter()
              .map(t -> t.getEpochSecond()).orElse(0L))
          .description("When this sidecar's TLS certificate (the leaf) expires, in seconds since the epoch")
          .baseUnit("seconds")
          .register(registry));
    }
  }

  /**
   * Loads the files and starts polling them on a daemon thread of its own.
   *
   * @throws ConfigException one line naming the variable of the first bad file
   */
  public static TlsMaterialSource start(TlsFiles files, MeterRegistry meters, Clock clock, Duration pollEvery) {
    TlsMaterialSource source = load(files, meters, clock);
    source.poller = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "tls-files");
      thread.setDaemon(true);
      return thread;
    });
    long every = Math.max(1, pollEvery.toMillis());
    source.poller.scheduleWithFixedDelay(source::pollSafely, every, every, TimeUnit.MILLISECONDS);
    return source;
  }

  /** Loads the files without polling them; {@link #poll()} checks them when called. */
  static TlsMaterialSource load(TlsFiles files, MeterRegistry meters, Clock clock) {
    TlsMaterial first;
    try {
      first = TlsMaterial.load(files, FileBytes.read(files));
    } catch (TlsFileException e) {
      throw new ConfigException(List.of(e.getMessage()));
    }
    TlsMaterialSource source = new TlsMaterialSource(files, first, meters, clock);
    log.info("TLS material loaded: " + first);
    source.checkExpiry();
    return source;
  }

  /** The material new connections should use. */
  public TlsMaterial current() {
    return current;
  }

  @Override
  public TlsMaterial get() {
    return current;
  }

  /** The files this source reads. */
  public TlsFiles files() {
    return files;
  }

  private void pollSafely() {
    try {
      poll();
    } catch (RuntimeException | Error e) {
      // The poller must outlive a surprise: a dead poller would freeze rotation silently.
      log.log(Level.SEVERE, "TLS file check failed unexpectedly; will try again", e);
    }
  }

  /** Reads the files once; returns whether new material was put in use. */
  boolean poll() {
    synchronized (lock) {
      FileBytes read = FileBytes.read(files);
      try {
        if (read.fingerprint().equals(current.fingerprint())) {
          pending = null;
          return false;
        }
        if (!read.equals(pending)) {
          pending = read; // changed since the last look: wait for it to settle
          return false;
        }
        pending = null;
        if (read.fingerprint().equals(failedFingerprint)) {
          return false; // this bad content was reported already
        }
        TlsMaterial next;
        try {
          next = TlsMaterial.load(files, read);
        } catch (TlsFileException e) {
          failedFingerprint = read.fingerprint();
          reloadFailures.increment();
          log.severe("TLS files changed but cannot be used, keeping the material loaded before (" + current
              + "): " + e.getMessage());
          return false;
        }
        TlsMaterial previous = current;
        current = next;
        failedFingerprint = null;
        lastExpiryWarning = null;
        reloads.increment();
        log.info("TLS material reloaded: " + next + " (was " + previous + ")");
        return true;
      } finally {
        checkExpiry();
      }
    }
  }

  private void checkExpiry() {
    TlsMaterial material = current;
    if (material.notAfter().isEmpty()) {
      return;
    }
    Instant notAfter = material.notAfter().get();
    Instant now = clock.instant();
    Duration left = Duration.between(now, notAfter);
    if (left.compareTo(EXPIRY_WARNING) >= 0) {
      return;
    }
    if (lastExpiryWarning != null && Duration.between(lastExpiryWarning, now).compareTo(WARN_AGAIN) < 0) {
      return;
    }
    lastExpiryWarning = now;
    String identity = material.certificate().map(PeerCertificate::identity).orElse("?");
    if (left.isNegative()) {
      log.warning("TLS certificate " + identity + " (" + files.certificate().orElseThrow() + ") expired at "
          + notAfter + "; peers will refuse it until the file is renewed");
    } else {
      log.warning("TLS certificate " + identity + " (" + files.certificate().orElseThrow() + ") expires at "
          + notAfter + ", in " + left.toMinutes() + " min; is its renewal working?");
    }
  }

  /** Stops polling and removes this source's meters. */
  @Override
  public void close() {
    if (poller != null) {
      poller.shutdownNow();
    }
    meters.forEach(registry::remove);
  }
}
