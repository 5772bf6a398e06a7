package dev.sidecars.runtime.tls;

import dev.sidecars.runtime.config.Settings;
import java.util.Optional;

/**
 * How the ingress listener speaks TLS: {@code TLS_MODE} and the files it needs.
 *
 * @param mode {@code TLS_MODE}
 * @param files the certificate and key (every mode but {@code off}), and the CA bundle ({@code mtls}
 *     requires it; with {@code permissive} it makes client certificates requested and verified)
 */
public record ServerTlsConfig(Mode mode, Optional<TlsFiles> files) {
  public static final String MODE_VARIABLE = "TLS_MODE";

  /** The values of {@code TLS_MODE}. */
  public enum Mode {
    /** Plaintext only; a TLS ClientHello is refused and counted. */
    OFF,
    /** TLS only, no client certificate asked for. */
    TLS,
    /** TLS only, and a client certificate verified against {@code TLS_CA_FILE} is required. */
    MTLS,
    /**
     * TLS and plaintext on one port, told apart by the first bytes (for migrations). Over TLS, a client
     * certificate is asked for when {@code TLS_CA_FILE} is set, and verified if sent, but not required.
     */
    PERMISSIVE
  }

  /** Plaintext only. */
  public static ServerTlsConfig off() {
    return new ServerTlsConfig(Mode.OFF, Optional.empty());
  }

  /**
   * Reads {@code TLS_MODE}, {@code TLS_CERT_FILE}, {@code TLS_KEY_FILE} and {@code TLS_CA_FILE}, and loads
   * the files once; problems go to {@code settings}, one line naming each bad variable.
   */
  public static ServerTlsConfig from(Settings settings) {
    String word = settings.oneOf(MODE_VARIABLE, "off", "off", "tls", "mtls", "permissive");
    Mode mode = Mode.valueOf(word.toUpperCase(java.util.Locale.ROOT));
    if (mode == Mode.OFF) {
      // Looked at but not loaded: files mounted ahead of turning TLS on are no error, and stay unused.
      settings.optional(TlsFiles.CERT_VARIABLE);
      settings.optional(TlsFiles.KEY_VARIABLE);
      settings.optional(TlsFiles.CA_VARIABLE);
      return off();
    }
    Optional<TlsFiles> files = TlsFiles.read(settings, true, mode == Mode.MTLS, MODE_VARIABLE + "=" + word);
    return new ServerTlsConfig(files.isPresent() ? mode : Mode.OFF, files);
  }
}
