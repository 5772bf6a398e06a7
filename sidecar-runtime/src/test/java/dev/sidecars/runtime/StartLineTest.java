package dev.sidecars.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StartLineTest {
  @Test
  void readsBackThePortsItWrites() {
    Map<String, Integer> ports = new LinkedHashMap<>();
    ports.put("otlp-http", 4318);
    ports.put("admin", 15090);

    String line = StartLine.format("collector-stub", "0.1.0", ports);

    assertThat(line).isEqualTo("collector-stub 0.1.0 listening on otlp-http=4318 admin=15090");
    assertThat(StartLine.isStartLine(line)).isTrue();
    assertThat(StartLine.ports(line)).containsExactly(Map.entry("otlp-http", 4318), Map.entry("admin", 15090));
  }

  @Test
  void theDetailForPeopleIsNotReadAsPorts() {
    String line = StartLine.format("metrics-proxy", "0.1.0", Map.of("proxy", 15001),
        "sending OTLP to http://collector:4318/?tenant=7 (http/protobuf)");

    assertThat(line).isEqualTo(
        "metrics-proxy 0.1.0 listening on proxy=15001, sending OTLP to http://collector:4318/?tenant=7 (http/protobuf)");
    assertThat(StartLine.ports(line)).containsExactly(Map.entry("proxy", 15001));
  }

  @Test
  void otherLinesHaveNoPorts() {
    assertThat(StartLine.isStartLine("2026-11-25 INFO xnio version=3.8")).isFalse();
    assertThat(StartLine.isStartLine(null)).isFalse();
    assertThat(StartLine.ports("retries=3 of version=2")).isEmpty();
  }
}
