package dev.sidecars.collector;

import dev.sidecars.runtime.ConsoleLogging;
import dev.sidecars.runtime.config.Settings;
import java.time.Duration;
import java.util.List;

/**
 * The collector-stub's settings, read once from the environment (or built in tests) and never changed.
 *
 * @param maxBodyBytes the largest OTLP request body, counted after decompression
 * @param corsAllowedOrigins browser origins allowed to send OTLP/HTTP; {@code *} allows any
 * @param maxConcurrentDecodes large or compressed OTLP/HTTP bodies read and decoded at once (each may take
 *     twice {@code maxBodyBytes} of heap while it is); by default as many as a third of the heap holds
 */
public record CollectorStubConfig(
    String bindAddress,
    int otlpHttpPort,
    int otlpGrpcPort,
    int uiPort,
    int maxSpans,
    int maxLogs,
    int maxPoints,
    long maxBodyBytes,
    List<String> corsAllowedOrigins,
    int maxConcurrentDecodes,
    Duration shutdownGrace,
    String logLevel) {
  public static final int DEFAULT_OTLP_HTTP_PORT = 4318;
  public static final int DEFAULT_OTLP_GRPC_PORT = 4317;
  public static final int DEFAULT_UI_PORT = 16686;
  public static final int DEFAULT_MAX_ITEMS = 100_000;
  public static final long DEFAULT_MAX_BODY_BYTES = 64L << 20;

  public CollectorStubConfig {
    corsAllowedOrigins = List.copyOf(corsAllowedOrigins);
  }

  /** Reads every variable, reporting all problems at once through {@link Settings#validate()}. */
  public static CollectorStubConfig from(Settings s) {
    String bind = s.string("BIND_ADDRESS", "0.0.0.0");
    int httpPort = s.port("OTLP_HTTP_PORT", DEFAULT_OTLP_HTTP_PORT);
    int grpcPort = s.port("OTLP_GRPC_PORT", DEFAULT_OTLP_GRPC_PORT);
    int uiPort = s.port("UI_PORT", DEFAULT_UI_PORT);
    int maxSpans = s.integer("STUB_MAX_SPANS", DEFAULT_MAX_ITEMS, 1, 50_000_000);
    int maxLogs = s.integer("STUB_MAX_LOGS", DEFAULT_MAX_ITEMS, 1, 50_000_000);
    int maxPoints = s.integer("STUB_MAX_POINTS", DEFAULT_MAX_ITEMS, 1, 50_000_000);
    long maxBodyBytes = s.bytes("STUB_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024);
    List<String> origins = s.list("STUB_CORS_ALLOWED_ORIGINS").isEmpty() ? List.of("*") : s.list("STUB_CORS_ALLOWED_ORIGINS");
    int decodes = s.integer("STUB_MAX_CONCURRENT_DECODES", defaultDecodes(maxBodyBytes), 1, 1024);
    CollectorStubConfig config = new CollectorStubConfig(bind, httpPort, grpcPort, uiPort, maxSpans, maxLogs, maxPoints,
        maxBodyBytes, origins, decodes, s.duration("SHUTDOWN_GRACE", Duration.ofSeconds(20)),
        s.oneOf("LOG_LEVEL", "info", ConsoleLogging.LEVELS));
    s.validate();
    return config;
  }

  /** As many bodies as a third of the heap holds at twice the body limit each, from 1 to 16. */
  public static int defaultDecodes(long maxBodyBytes) {
    long fit = Runtime.getRuntime().maxMemory() / 3 / Math.max(1, 2 * maxBodyBytes);
    return (int) Math.max(1, Math.min(16, fit));
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.bindAddress = bindAddress;
    b.otlpHttpPort = otlpHttpPort;
    b.otlpGrpcPort = otlpGrpcPort;
    b.uiPort = uiPort;
    b.maxSpans = maxSpans;
    b.maxLogs = maxLogs;
    b.maxPoints = maxPoints;
    b.maxBodyBytes = maxBodyBytes;
    b.corsAllowedOrigins = corsAllowedOrigins;
    b.maxConcurrentDecodes = maxConcurrentDecodes;
    b.shutdownGrace = shutdownGrace;
    b.logLevel = logLevel;
    return b;
  }

  /** Builds a config in code, from the same defaults as the environment; tests bind loopback on port 0. */
  public static final class Builder {
    private String bindAddress = "127.0.0.1";
    private int otlpHttpPort = DEFAULT_OTLP_HTTP_PORT;
    private int otlpGrpcPort = DEFAULT_OTLP_GRPC_PORT;
    private int uiPort = DEFAULT_UI_PORT;
    private int maxSpans = DEFAULT_MAX_ITEMS;
    private int maxLogs = DEFAULT_MAX_ITEMS;
    private int maxPoints = DEFAULT_MAX_ITEMS;
    private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
    private List<String> corsAllowedOrigins = List.of("*");
    private int maxConcurrentDecodes;
    private Duration shutdownGrace = Duration.ofSeconds(20);
    private String logLevel = "info";

    private Builder() {}

    public Builder bindAddress(String v) {
      bindAddress = v;
      return this;
    }

    public Builder otlpHttpPort(int v) {
      otlpHttpPort = v;
      return this;
    }

    public Builder otlpGrpcPort(int v) {
      otlpGrpcPort = v;
      return this;
    }

    public Builder uiPort(int v) {
      uiPort = v;
      return this;
    }

    public Builder maxSpans(int v) {
      maxSpans = v;
      return this;
    }

    public Builder maxLogs(int v) {
      maxLogs = v;
      return this;
    }

    public Builder maxPoints(int v) {
      maxPoints = v;
      return this;
    }

    public Builder maxBodyBytes(long v) {
      maxBodyBytes = v;
      return this;
    }

    public Builder corsAllowedOrigins(List<String> v) {
      corsAllowedOrigins = v;
      return this;
    }

    /** 0 or less: the default for the body limit ({@link #defaultDecodes}). */
    public Builder maxConcurrentDecodes(int v) {
      maxConcurrentDecodes = v;
      return this;
    }

    public Builder shutdownGrace(Duration v) {
      shutdownGrace = v;
      return this;
    }

    /** All three listeners on free ports: what tests want. */
    public Builder freePorts() {
      return otlpHttpPort(0).otlpGrpcPort(0).uiPort(0);
    }

    public CollectorStubConfig build() {
      if (maxSpans < 1 || maxLogs < 1 || maxPoints < 1 || maxBodyBytes < 1) {
        throw new IllegalArgumentException("store bounds and body limit must be positive");
      }
      return new CollectorStubConfig(bindAddress, otlpHttpPort, otlpGrpcPort, uiPort, maxSpans, maxLogs, maxPoints,
          maxBodyBytes, corsAllowedOrigins, maxConcurrentDecodes > 0 ? maxConcurrentDecodes : defaultDecodes(maxBodyBytes),
          shutdownGrace, logLevel);
    }
  }
}
