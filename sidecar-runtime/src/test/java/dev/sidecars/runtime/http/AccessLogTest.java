package dev.sidecars.runtime.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AccessLogTest {
  @Test
  void writesOneJsonLinePerExchangeWithTheResponseFlag() throws Exception {
    List<String> lines = new ArrayList<>();
    AccessLog log = AccessLog.to(lines::add);
    log.log(new AccessLog.Entry(Instant.parse("2026-01-02T03:04:05Z"), "GET", "/a\"b\n", "route", "_OTHER", 504,
        ResponseFlag.UPSTREAM_TIMEOUT, 30000.1234, 29999.5, 0, 0, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7",
        "127.0.0.1", null, null));
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).doesNotContain("\n");
    JsonNode json = new ObjectMapper().readTree(lines.get(0));
    assertThat(json.path("path").asText()).isEqualTo("/a\"b\n");
    assertThat(json.path("flags").asText()).isEqualTo("UT");
    assertThat(json.path("status").asInt()).isEqualTo(504);
    assertThat(json.path("duration_ms").asDouble()).isEqualTo(30000.123);
    assertThat(json.path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(json.has("user_agent")).isFalse();
  }

  @Test
  void jsonLinesWritesEachEntryOnItsOwnLineInUtf8ThroughOneGenerator() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    AccessLogWriter.Lines<AccessLog.Entry> lines = AccessLog.jsonLines(out);
    for (String agent : List.of("curl/8.5 \u00e9\u2603", "tab\there")) {
      lines.write(new AccessLog.Entry(Instant.parse("2026-01-02T03:04:05Z"), "POST", "/users/1", "route", "/users/{id}",
          200, null, 1.5, 1.25, 10, 1024, null, null, null, agent, null));
    }
    lines.flush();

    String text = out.toString(StandardCharsets.UTF_8);
    assertThat(text).endsWith("}\n");
    List<String> written = text.lines().toList();
    assertThat(written).hasSize(2);
    ObjectMapper mapper = new ObjectMapper();
    assertThat(mapper.readTree(written.get(0)).path("user_agent").asText()).isEqualTo("curl/8.5 \u00e9\u2603");
    assertThat(mapper.readTree(written.get(1)).path("user_agent").asText()).isEqualTo("tab\there");
    assertThat(mapper.readTree(written.get(1)).path("flags").asText()).isEqualTo("-");
    // The same line as the one-at-a-time format, which the tests above check field by field.
    assertThat(written.get(1)).isEqualTo(AccessLog.format(new AccessLog.Entry(Instant.parse("2026-01-02T03:04:05Z"),
        "POST", "/users/1", "route", "/users/{id}", 200, null, 1.5, 1.25, 10, 1024, null, null, null, "tab\there", null)));
  }

  @Test
  void offWritesNothing() {
    assertThat(AccessLog.off().enabled()).isFalse();
  }
}
