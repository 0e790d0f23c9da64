package dev.rgemma.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a tokenizer.json with Jackson's streaming parser for the two big parts (model.vocab and
 * model.merges, about a million entries for Gemma) and a tree for everything else, which keeps
 * loading to a few seconds instead of building a million-node tree.
 */
final class TokenizerJsonReader {
  record Parsed(ObjectNode root, ObjectNode model, Map<String, Integer> vocab, List<String> mergeLeft, List<String> mergeRight) {}

  private TokenizerJsonReader() {}

  static Parsed read(Path file) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = mapper.createObjectNode();
    ObjectNode model = mapper.createObjectNode();
    Map<String, Integer> vocab = null;
    List<String> left = new ArrayList<>();
    List<String> right = new ArrayList<>();
    try (InputStream in = Files.newInputStream(file); JsonParser parser = mapper.createParser(in)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) throw new RgemmaException(file + ": expected a JSON object");
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        parser.nextToken();
        if (!field.equals("model") || parser.currentToken() != JsonToken.START_OBJECT) {
          root.set(field, parser.readValueAsTree());
          continue;
        }
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String modelField = parser.currentName();
          JsonToken token = parser.nextToken();
          if (modelField.equals("vocab") && token == JsonToken.START_OBJECT) {
            vocab = new HashMap<>(1 << 19);
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
              String piece = parser.currentName();
              if (parser.nextToken() != JsonToken.VALUE_NUMBER_INT || parser.getIntValue() < 0) {
                throw new RgemmaException(file + ": model.vocab[\"" + piece + "\"] is not a non-negative id");
              }
              vocab.put(piece, parser.getIntValue());
            }
          } else if (modelField.equals("merges") && token == JsonToken.START_ARRAY) {
            readMerges(parser, left, right, file);
          } else {
            model.set(modelField, parser.readValueAsTree());
          }
        }
      }
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new RgemmaException(file + ": not valid JSON: " + dev.rgemma.io.JsonErrors.describe(e), e);
    }
    return new Parsed(root, model, vocab, left, right);
  }

  /** Merges as "left right" strings (older files) or [left, right] pairs (tokenizers >= 0.20). */
  private static void readMerges(JsonParser parser, List<String> left, List<String> right, Path file) throws IOException {
    for (JsonToken token; (token = parser.nextToken()) != JsonToken.END_ARRAY; ) {
      int index = left.size();
      if (token == JsonToken.VALUE_STRING) {
        String text = parser.getText();
        int space = text.indexOf(' ');
        if (space <= 0) throw badMerge(file, index, "\"" + text + "\"");
        left.add(text.substring(0, space));
        right.add(text.substring(space + 1));
      } else if (token == JsonToken.START_ARRAY) {
        JsonNode pair = parser.readValueAsTree();
        if (pair.size() != 2 || !pair.get(0).isTextual() || !pair.get(1).isTextual()) throw badMerge(file, index, pair.toString());
        left.add(pair.get(0).asText());
        right.add(pair.get(1).asText());
      } else {
        throw badMerge(file, index, token.toString());
      }
    }
  }

  private static RgemmaException badMerge(Path file, int index, String found) {
    return new RgemmaException(
        file + ": model.merges[" + index + "] is " + found + "; expected \"left right\" or [left, right]");
  }
}
