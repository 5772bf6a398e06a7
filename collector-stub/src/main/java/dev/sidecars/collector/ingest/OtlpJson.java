package dev.sidecars.collector.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;

/**
 * OTLP/JSON as the OTLP specification maps it: proto3 JSON (left to protobuf's {@link JsonFormat}) except
 * that trace and span ids are hex strings, not base64. We translate the ids and let {@code JsonFormat} do
 * the rest, which already takes enums as integers, 64-bit integers as strings or numbers, and ignores
 * unknown fields.
 */
final class OtlpJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
  private static final Map<String, Integer> ID_BYTES = Map.of("traceId", 16, "spanId", 8, "parentSpanId", 8);

  private OtlpJson() {}

  static void merge(byte[] body, Message.Builder builder) throws MalformedRequestException {
    JsonNode tree;
    try {
      tree = MAPPER.readTree(body);
    } catch (IOException e) {
      throw new MalformedRequestException("malformed JSON: " + firstLine(e.getMessage()));
    }
    if (tree == null || tree.isMissingNode()) {
      return; // an empty body is an empty export
    }
    if (!tree.isObject()) {
      throw new MalformedRequestException("malformed OTLP/JSON: the body must be a JSON object");
    }
    hexIdsToBase64(tree, "$");
    try {
      PARSER.merge(MAPPER.writeValueAsString(tree), builder);
    } catch (InvalidProtocolBufferException | JsonProcessingException | RuntimeException e) {
      throw new MalformedRequestException("malformed OTLP/JSON: " + firstLine(e.getMessage()));
    }
  }

  static String print(MessageOrBuilder message) {
    try {
      return PRINTER.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void hexIdsToBase64(JsonNode node, String path) throws MalformedRequestException {
    if (node instanceof ObjectNode object) {
      for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        Integer bytes = ID_BYTES.get(field.getKey());
        String fieldPath = path + "." + field.getKey();
        if (bytes != null && field.getValue().isTextual()) {
          field.setValue(new TextNode(hexToBase64(field.getValue().textValue(), bytes, fieldPath)));
        } else {
          hexIdsToBase64(field.getValue(), fieldPath);
        }
      }
    } else if (node instanceof ArrayNode array) {
      for (int i = 0; i < array.size(); i++) {
        hexIdsToBase64(array.get(i), path + "[" + i + "]");
      }
    }
  }

  private static String hexToBase64(String hex, int bytes, String path) throws MalformedRequestException {
    if (hex.isEmpty()) {
      return hex;
    }
    if (hex.length() != bytes * 2 || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
      throw new MalformedRequestException(
          path + " is \"" + abbreviate(hex) + "\": OTLP/JSON encodes ids as " + bytes * 2
              + " hex characters" + (looksLikeBase64(hex, bytes) ? ", not base64" : ""));
    }
    return Base64.getEncoder().encodeToString(HexFormat.of().parseHex(hex));
  }

  private static boolean looksLikeBase64(String s, int bytes) {
    try {
      return Base64.getDecoder().decode(s).length == bytes;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable body";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }
}
