package dev.sidecars.runtime.tls;

import dev.sidecars.runtime.config.Settings;
import java.util.Locale;
import java.util.Optional;

/**
 * How the egress proxy speaks TLS to upstreams: {@code UPSTREAM_TLS} for the application's plain calls,
 * and the files. {@code https://} upstreams always use TLS, verified against {@code TLS_CA_FILE} when it is
 * set, else the JDK's trust store.
 *
 * @param mode {@code UPSTREAM_TLS}
 * @param files the CA bundle, and the certificate and key that {@code mtls} presents
 */
public record UpstreamTlsConfig(Mode mode, Optional<TlsFiles> files) {
  public static final String MODE_VARIABLE = "UPSTREAM_TLS";

  /** The values of {@code UPSTREAM_TLS}. */
  public enum Mode {
    /** Plain calls leave plain; only {@code https://} upstreams use TLS. */
    OFF,
    /** Plain calls leave over TLS, the server verified. */
    TLS,
    /** Plain calls leave over mutual TLS with this sidecar's certificate. */
    MTLS
  }

  /**
   * Reads {@code UPSTREAM_TLS}, {@code TLS_CERT_FILE}, {@code TLS_KEY_FILE} and {@code TLS_CA_FILE}, and loads
   * the files once; problems go to {@code settings}. {@code mtls} needs all three files.
   */
  public static UpstreamTlsConfig from(Settings settings) {
    String word = settings.oneOf(MODE_VARIABLE, "off", "off", "tls", "mtls");
    Mode mode = Mode.valueOf(word.toUpperCase(Locale.ROOT));
    boolean mtls = mode == Mode.MTLS;
    Optional<TlsFiles> files = TlsFiles.read(settings, mtls, mtls, MODE_VARIABLE + "=" + word);
    return new UpstreamTlsConfig(mode, files);
  }
}
