package dev.sidecars.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class WireLogsTest {
  private static KeyValue attribute(String key, AnyValue value) {
    return KeyValue.newBuilder().setKey(key).setValue(value).build();
  }

  private static LogRecord record(String body) {
    return LogRecord.newBuilder()
        .setTimeUnixNano(1).setObservedTimeUnixNano(2).setSeverityNumberValue(9).setSeverityText("INFO")
        .setBody(AnyValue.newBuilder().setStringValue(body))
        .addAttributes(attribute("log.file.name", AnyValue.newBuilder().setStringValue("app.log").build()))
        .addAttributes(attribute("n", AnyValue.newBuilder().setIntValue(7).build()))
        .addAttributes(attribute("list", AnyValue.newBuilder().setArrayValue(ArrayValue.newBuilder()
            .addValues(AnyValue.newBuilder().setStringValue("x"))).build()))
        .setTraceId(ByteString.copyFrom(new byte[16])).setSpanId(ByteString.copyFrom(new byte[8])).setFlags(1)
        .build();
  }

  @Test
  void countsWhatAFullParseCounts() throws Exception {
    ResourceLogs.Builder resource = ResourceLogs.newBuilder()
        .setResource(Resource.newBuilder().addAttributes(
            attribute("service.name", AnyValue.newBuilder().setStringValue("app").build())))
        .setSchemaUrl("https://opentelemetry.io/schemas/1.24.0");
    for (int s = 0; s < 2; s++) {
      ScopeLogs.Builder scope = ScopeLogs.newBuilder().setScope(InstrumentationScope.newBuilder().setName("scope" + s));
      for (int i = 0; i < 3; i++) {
        scope.addLogRecords(record("line " + s + i + " é"));
      }
      resource.addScopeLogs(scope);
    }
    byte[] request = ExportLogsServiceRequest.newBuilder()
        .addResourceLogs(resource).addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(
            ScopeLogs.newBuilder().addLogRecords(LogRecord.newBuilder().setBody(AnyValue.newBuilder().setIntValue(3)))))
        .build().toByteArray();

    List<String> bodies = new ArrayList<>();
    WireLogs.Counts counts = WireLogs.count(request,
        (buf, offset, length, at) -> bodies.add(new String(buf, offset, length, StandardCharsets.UTF_8)));

    assertThat(counts.records()).isEqualTo(7);
    assertThat(bodies).containsExactly("line 00 é", "line 01 é", "line 02 é", "line 10 é", "line 11 é", "line 12 é");
    assertThat(counts.bodyBytes()).isEqualTo(bodies.stream().mapToInt(b -> b.getBytes(StandardCharsets.UTF_8).length).sum());
  }

  @Test
  void refusesWhatAFullParseRefuses() {
    byte[] good = ExportLogsServiceRequest.newBuilder()
        .addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(ScopeLogs.newBuilder().addLogRecords(record("hello"))))
        .build().toByteArray();
    WireLogs.BodySink ignore = (buf, offset, length, at) -> {};

    byte[] cut = Arrays.copyOf(good, good.length - 3);
    assertThatThrownBy(() -> WireLogs.count(cut, ignore)).isInstanceOf(java.io.IOException.class);
    assertThatThrownBy(() -> ExportLogsServiceRequest.parseFrom(cut)).isInstanceOf(java.io.IOException.class);

    byte[] notUtf8 = good.clone();
    int at = indexOf(notUtf8, "hello".getBytes(StandardCharsets.US_ASCII));
    notUtf8[at] = (byte) 0xC3; // a lead byte followed by ASCII
    assertThatThrownBy(() -> WireLogs.count(notUtf8, ignore)).hasMessageContaining("UTF-8");
    assertThatThrownBy(() -> ExportLogsServiceRequest.parseFrom(notUtf8)).isInstanceOf(java.io.IOException.class);
  }

  @Test
  void checksLongStringsBeyondTheirAsciiStartAndRefusesAKnownFieldOfTheWrongWireType() throws Exception {
    String longValid = "x".repeat(37) + " é " + "y".repeat(20) + " 日本語";
    byte[] good = ExportLogsServiceRequest.newBuilder()
        .addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(ScopeLogs.newBuilder()
            .addLogRecords(record(longValid)).addLogRecords(record("z".repeat(300)))))
        .build().toByteArray();
    WireLogs.BodySink ignore = (buf, offset, length, at) -> {};
    assertThat(WireLogs.count(good, ignore).records()).isEqualTo(2);

    byte[] badLate = good.clone();
    badLate[indexOf(badLate, "yyyy".getBytes(StandardCharsets.US_ASCII))] = (byte) 0xE6; // lead byte, then ASCII
    assertThatThrownBy(() -> WireLogs.count(badLate, ignore)).hasMessageContaining("UTF-8");
    assertThatThrownBy(() -> ExportLogsServiceRequest.parseFrom(badLate)).isInstanceOf(java.io.IOException.class);

    // observed_time_unix_nano (11) written as a varint instead of fixed64
    byte[] wrongType = ExportLogsServiceRequest.newBuilder()
        .addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(ScopeLogs.newBuilder()
            .addLogRecords(LogRecord.newBuilder().setBody(AnyValue.newBuilder().setStringValue("a"))
                .setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder().addField(11,
                    com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(5).build()).build()))))
        .build().toByteArray();
    assertThatThrownBy(() -> WireLogs.count(wrongType, ignore)).hasMessageContaining("wire type");

    byte[] fieldZero = {0x02, 0x00}; // field 0, length-delimited, empty
    assertThatThrownBy(() -> WireLogs.count(fieldZero, ignore)).hasMessageContaining("invalid tag");
    assertThatThrownBy(() -> ExportLogsServiceRequest.parseFrom(fieldZero)).isInstanceOf(java.io.IOException.class);
  }

  /** Every prefix of a request: refused exactly when a full parse refuses it, and counted alike otherwise. */
  @Test
  void everyCutOfARequestIsRefusedOrCountedAsAFullParseDoes() throws Exception {
    ScopeLogs.Builder scope = ScopeLogs.newBuilder().setScope(InstrumentationScope.newBuilder().setName("s"));
    for (int i = 0; i < 4; i++) {
      scope.addLogRecords(record("line " + i + " é " + "x".repeat(i * 40)));
    }
    byte[] request = ExportLogsServiceRequest.newBuilder()
        .addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(scope))
        .addResourceLogs(ResourceLogs.newBuilder().addScopeLogs(ScopeLogs.newBuilder().addLogRecords(record("last"))))
        .build().toByteArray();
    WireLogs.BodySink ignore = (buf, offset, length, at) -> {};
    int refused = 0;
    for (int length = 0; length <= request.length; length++) {
      byte[] cut = Arrays.copyOf(request, length);
      long expected;
      try {
        expected = ExportLogsServiceRequest.parseFrom(cut).getResourceLogsList().stream()
            .flatMap(r -> r.getScopeLogsList().stream()).mapToLong(ScopeLogs::getLogRecordsCount).sum();
      } catch (java.io.IOException e) {
        expected = -1;
      }
      long counted;
      try {
        // in a larger array, as the sink reads requests into a reused buffer
        counted = WireLogs.count(Arrays.copyOf(cut, length + 64), length, ignore).records();
      } catch (java.io.IOException e) {
        counted = -1;
      }
      assertThat(counted).as("cut at %d of %d", length, request.length).isEqualTo(expected);
      refused += expected < 0 ? 1 : 0;
    }
    assertThat(refused).isGreaterThan(request.length / 2);
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}
