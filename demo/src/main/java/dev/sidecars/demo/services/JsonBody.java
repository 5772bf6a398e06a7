package dev.sidecars.demo.services;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * A request body read as one JSON object, or the reason it is not one, in words a caller can act on: what
 * the demo services answer 400 with.
 */
final class JsonBody {
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private JsonBody() {}

  /** Thrown for a body that is not one JSON object. */
  static final class NotAnObject extends Exception {
    private static final long serialVersionUID = 1L;

    NotAnObject(String message) {
      super(message);
    }
  }

  static JsonNode object(byte[] body) throws NotAnObject {
    JsonNode node;
    try {
      node = MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw new NotAnObject("the body is not JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new NotAnObject("the body could not be read: " + e.getMessage());
    }
    if (node == null || node.isMissingNode()) {
      throw new NotAnObject("the body is empty; send a JSON object");
    }
    if (!node.isObject()) {
      throw new NotAnObject("the body is JSON but not an object");
    }
    return node;
  }
}
