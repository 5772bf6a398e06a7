package dev.sidecars.logforwarder.ship;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sidecars.logforwarder.parse.FileAttributes;
import dev.sidecars.logforwarder.parse.LineFormat;
import dev.sidecars.logforwarder.parse.RecordFactory;
import dev.sidecars.logforwarder.parse.WireRecord;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The request written around the records is byte for byte what the generated classes write for the same
 * resource, scope and records: the lengths of the nested messages are computed here, not by protobuf.
 */
class ExportRequestsTest {
  private static final FileAttributes FILE = FileAttributes.of("/logs/app.log", "app.log");

  private static List<WireRecord> records(int from, int count) {
    RecordFactory factory = new RecordFactory(LineFormat.of(LineFormat.Kind.AUTO), () -> 1_000L);
    List<WireRecord> out = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      String line = switch (i % 4) {
        case 0 -> "plain line " + i + " INFO";
        case 1 -> "{\"msg\":\"json " + i + "\",\"level\":\"warn\",\"n\":" + i + "}";
        case 2 -> "x".repeat(200 + i); // lengths whose varint takes two bytes
        default -> "é non-ASCII " + i;
      };
      out.add(factory.record(factory.entry(line.getBytes(StandardCharsets.UTF_8), i % 3 == 0, FILE, 1_000L + i)));
    }
    return out;
  }

  private static ExportLogsServiceRequest generated(Resource resource, String resourceSchemaUrl,
      InstrumentationScope scope, String scopeSchemaUrl, List<WireRecord> records) {
    return ExportLogsServiceRequest.newBuilder()
        .addResourceLogs(ResourceLogs.newBuilder().setResource(resource).setSchemaUrl(resourceSchemaUrl)
            .addScopeLogs(ScopeLogs.newBuilder().setScope(scope).setSchemaUrl(scopeSchemaUrl)
                .addAllLogRecords(records.stream().map(WireRecord::message).toList())))
        .build();
  }

  @Test
  void aRequestIsWhatTheGeneratedClassesWrite() {
    io.opentelemetry.sdk.resources.Resource resource = io.opentelemetry.sdk.resources.Resource.create(
        Attributes.builder().put("service.name", "app").put("pid", 42L)
            .put(AttributeKey.stringArrayKey("tags"), List.of("a", "b")).build(),
        "https://opentelemetry.io/schemas/1.24.0");
    InstrumentationScopeInfo scope = InstrumentationScopeInfo.builder("log-forwarder").setVersion("1.0")
        .setSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
        .setAttributes(Attributes.of(AttributeKey.booleanKey("forwarded"), true)).build();
    ExportRequests requests = new ExportRequests(resource, scope);
    List<WireRecord> records = records(0, 300);

    ExportRequests.Encoded encoded = requests.append(null, records, new RequestBuffers(1));

    Resource expectedResource = Resource.newBuilder()
        .addAttributes(KeyValue.newBuilder().setKey("pid").setValue(AnyValue.newBuilder().setIntValue(42)))
        .addAttributes(KeyValue.newBuilder().setKey("service.name").setValue(AnyValue.newBuilder().setStringValue("app")))
        .addAttributes(KeyValue.newBuilder().setKey("tags").setValue(AnyValue.newBuilder().setArrayValue(
            ArrayValue.newBuilder().addValues(AnyValue.newBuilder().setStringValue("a"))
                .addValues(AnyValue.newBuilder().setStringValue("b")))))
        .build();
    InstrumentationScope expectedScope = InstrumentationScope.newBuilder().setName("log-forwarder").setVersion("1.0")
        .addAttributes(KeyValue.newBuilder().setKey("forwarded").setValue(AnyValue.newBuilder().setBoolValue(true)))
        .build();
    byte[] expected = generated(expectedResource, "https://opentelemetry.io/schemas/1.24.0", expectedScope,
        "https://opentelemetry.io/schemas/1.21.0", records).toByteArray();
    assertThat(Arrays.copyOf(encoded.bytes(), encoded.length())).isEqualTo(expected);
  }

  @Test
  void partsAppendedOneAfterAnotherAreTheConcatenatedRequests() throws Exception {
    ExportRequests requests = new ExportRequests(io.opentelemetry.sdk.resources.Resource.empty(),
        InstrumentationScopeInfo.create("log-forwarder"));
    RequestBuffers buffers = new RequestBuffers(1);
    ExportRequests.Encoded encoded = null;
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    for (int part = 0; part < 5; part++) {
      List<WireRecord> records = records(part * 100, 100 + part * 37);
      encoded = requests.append(encoded, records, buffers);
      generated(Resource.getDefaultInstance(), "", InstrumentationScope.newBuilder().setName("log-forwarder").build(),
          "", records).writeTo(expected);
    }

    assertThat(Arrays.copyOf(encoded.bytes(), encoded.length())).isEqualTo(expected.toByteArray());
    List<LogRecord> parsed = ExportRequests.records(encoded.bytes(), encoded.length());
    assertThat(parsed).hasSize(5 * 100 + 37 * (0 + 1 + 2 + 3 + 4));
  }
}
