package dev.rgemma.sampling;

import static dev.rgemma.sampling.JsonConstraintTest.STOP;
import static dev.rgemma.sampling.JsonConstraintTest.firstRefused;
import static dev.rgemma.sampling.JsonConstraintTest.singleBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** JSON Schema constraints: the subset compiles or is refused by name; output follows the schema. */
class JsonSchemaTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PERSON = """
      {"type": "object", "title": "person",
       "properties": {
         "name": {"type": "string", "description": "full name"},
         "age": {"type": "integer"},
         "tags": {"type": "array", "items": {"type": "string"}},
         "color": {"enum": ["red", "green", null]},
         "ok": {"type": "boolean"},
         "score": {"type": "number"},
         "extra": {},
         "nick": {"type": ["string", "null"]},
         "v": {"anyOf": [{"type": "integer"}, {"type": "object", "properties": {"x": {"type": "boolean"}},
               "required": ["x"]}, {"type": "null"}]}
       },
       "required": ["name", "age"], "additionalProperties": false}""";

  private static JsonSchema schema(String json) throws Exception {
    return JsonSchema.compile(JSON.readTree(json));
  }

  @Test
  void unsupportedKeywordsAreRefusedByName() {
    Map<String, String> cases = Map.ofEntries(
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"pattern\": \"x\"}}}",
            "properties.a.pattern"),
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\": {\"anyOf\": []}}}", "properties.a.anyOf"),
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\": {\"$ref\": \"#/x\"}}}", "properties.a.$ref"),
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\": {\"anyOf\": [{\"type\": \"string\"}, "
            + "{\"enum\": [\"x\"]}]}}}", "properties.a.anyOf: two members can start with '\"'"),
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": [\"object\", \"object\"]}}}",
            "properties.a.type"),
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\": {\"enum\": [1, 2]}}}", "properties.a.enum"),
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\": {}}, \"required\": [\"b\"]}", "required"),
        Map.entry("{\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"}}", "additionalProperties"),
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\\\"b\": {}}}", "escaping"),
        Map.entry("{\"type\": \"array\"}", "root"),
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"minLength\": 2}}}",
            "properties.a.minLength"),
        Map.entry("{\"type\": \"thing\"}", "thing"),
        Map.entry("{\"type\": \"object\", \"properties\": {\"a\": {\"enum\": " + java.util.stream.IntStream.range(0, 64)
            .mapToObj(i -> "\"v" + i + "\"").toList() + "}}}", "at most 63"));
    for (Map.Entry<String, String> c : cases.entrySet()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> schema(c.getKey()), c.getKey());
      assertTrue(e.getMessage().contains(c.getValue()), e.getMessage());
    }
  }

  /** {"type": "object", "properties": {"a": ...}} around {@code inner}, {@code levels} times. */
  static String nested(int levels, String inner) {
    return "{\"type\": \"object\", \"properties\": {\"a\": ".repeat(levels) + inner + "}}".repeat(levels);
  }

  /**
   * Objects and arrays nested more than {@link JsonConstraint#MAX_DEPTH} deep are refused when the
   * schema compiles (even where the deep part is optional), rather than leaving answers that stop
   * at the depth limit; up to the limit, an answer at full depth passes.
   */
  @Test
  void schemasNestedBeyondTheDepthLimitAreRefused() throws Exception {
    int max = JsonConstraint.MAX_DEPTH;
    JsonSchema deepest = schema(nested(max, "{\"type\": \"string\"}"));
    JsonConstraint json = new JsonConstraint(singleBytes(), Set.of(STOP), deepest);
    String answer = "{\"a\":".repeat(max) + "\"x\"" + "}".repeat(max);
    assertEquals(-1, firstRefused(answer, json));
    assertTrue(json.complete());
    schema(nested(max - 1, "{\"type\": \"array\", \"items\": {\"type\": \"integer\"}}"));
    for (String tooDeep : List.of(
        nested(max + 1, "{\"type\": \"string\"}"),
        nested(max, "{\"type\": \"object\"}"),
        nested(max, "{\"type\": \"array\"}"),
        nested(max - 1, "{\"type\": \"array\", \"items\": {\"type\": \"array\"}}"),
        nested(max, "{\"anyOf\": [{\"type\": \"null\"}, {\"type\": \"object\"}]}"),
        nested(max, "{\"type\": [\"null\", \"array\"]}"))) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> schema(tooDeep), tooDeep);
      assertTrue(e.getMessage().contains("nested " + (max + 1) + " deep")
          && e.getMessage().contains("at most " + max + " levels"), e.getMessage());
      assertTrue(e.getMessage().startsWith("properties.a.properties.a."), e.getMessage());
    }
  }

  @Test
  void objectsFollowTheSchemaByteByByte() throws Exception {
    JsonSchema person = schema(PERSON);
    for (String valid : List.of(
        "{\"name\":\"x\",\"age\":3}",
        "{\"name\": \"Ann \\\"A\\\"\", \"age\": -12, \"tags\": [\"a\", \"b\"], \"color\": \"green\", \"ok\": true}",
        "{\"name\":\"\",\"age\":0,\"color\":null,\"score\":-1.5e3,\"extra\":{\"any\":[1,{\"x\":null}]}}",
        "{\n  \"name\": \"x\",\n  \"age\": 7,\n  \"tags\": []\n}",
        "{\"name\":\"x\",\"age\":1,\"nick\":null,\"v\":5}",
        "{\"name\":\"x\",\"age\":1,\"nick\":\"n\",\"v\":{\"x\":true}}",
        "{\"name\":\"x\",\"age\":1,\"v\":null}")) {
      JsonConstraint json = new JsonConstraint(singleBytes(), Set.of(STOP), person);
      assertEquals(-1, firstRefused(valid, json), valid);
      assertTrue(json.complete(), valid);
      assertTrue(valid(JSON.readTree(PERSON), JSON.readTree(valid)), "the test's validator agrees: " + valid);
    }
    String[][] invalid = {
      {"{\"age\":3}", "2"}, // name is required and comes first
      {"{\"name\":\"x\"}", "11"}, // age is required: no closing yet
      {"{\"name\":1", "8"},
      {"{\"name\":\"x\",\"age\":3.5}", "19"},
      {"{\"name\":\"x\",\"age\":3,\"color\":\"blue\"}", "29"},
      {"{\"name\":\"x\",\"age\":3,\"nope\":1}", "22"}, // "n" could still start "nick"
      {"{\"name\":\"x\",\"age\":3,\"extra\":1,\"ok\":true}", "31"}, // order: ok comes before extra
      {"{\"name\":\"x\",\"age\":3,\"tags\":[1]}", "28"},
      {"{\"name\":\"x\",\"age\":3,\"ok\":nul", "25"},
      {"{\"name\":\"x\",\"age\":3,\"nick\":5}", "27"},
      {"{\"name\":\"x\",\"age\":3,\"v\":\"s\"}", "24"},
      {"{\"name\":\"x\",\"age\":3,\"v\":2.5}", "25"},
      {"{\"name\":\"x\",\"age\":3,\"v\":{\"y\":1}}", "26"},
    };
    for (String[] c : invalid) {
      JsonConstraint json = new JsonConstraint(singleBytes(), Set.of(STOP), person);
      assertEquals(Integer.parseInt(c[1]), firstRefused(c[0], json), c[0]);
    }
    JsonConstraint empty = new JsonConstraint(singleBytes(), Set.of(STOP),
        schema("{\"type\": \"object\", \"additionalProperties\": false}"));
    assertEquals(1, firstRefused("{\"a\":1}", empty));
  }

  /** Seeded random walks over multi-byte pieces: every closed object parses and passes the schema. */
  @Test
  void randomWalksEndInValidObjects() throws Exception {
    JsonSchema person = schema(PERSON);
    SplittableRandom random = new SplittableRandom(23);
    byte[][] vocab = JsonConstraintTest.walkVocabulary(random, "{}[]\":,0123456789-.eEtrufalsn \nabcxyz", 4,
        List.of("\"name\"", "\"age\"", "\"tags\"", "\"color\"", "\"ok\"", "\"score\"", "\"extra\"", "\"nick\"",
            "\"v\"", "\"x\"", "\"red\"", "\"green\"", "true", "false", "null", "\": ", "\", \"", "\","));
    JsonNode schemaJson = JSON.readTree(PERSON);
    // The quote is favoured too: the brackets' boost would fill the strings otherwise.
    int ended = JsonConstraintTest.walks(vocab, () -> new JsonConstraint(vocab, Set.of(vocab.length - 1), person),
        random, 5, text -> assertTrue(valid(schemaJson, JSON.readTree(text)), new String(text, StandardCharsets.UTF_8)));
    assertTrue(ended > 200, "only " + ended + " of 300 walks closed their object");
  }

  /** A small validator for the subset, written from the schema's JSON (not from the compiled form). */
  static boolean valid(JsonNode schema, JsonNode value) {
    for (String key : List.of("anyOf", "oneOf")) {
      if (schema.has(key)) {
        for (JsonNode member : schema.get(key)) {
          if (valid(member, value)) {
            return true;
          }
        }
        return false;
      }
    }
    if (schema.path("type").isArray()) {
      for (JsonNode type : schema.get("type")) {
        if (valid(((com.fasterxml.jackson.databind.node.ObjectNode) schema.deepCopy()).put("type", type.asText()), value)) {
          return true;
        }
      }
      return false;
    }
    if (schema.has("enum")) {
      for (JsonNode allowed : schema.get("enum")) {
        if (allowed.equals(value)) {
          return true;
        }
      }
      return false;
    }
    if (!schema.has("type")) {
      return true;
    }
    switch (schema.get("type").asText()) {
      case "object": {
        if (!value.isObject()) {
          return false;
        }
        JsonNode properties = schema.get("properties");
        for (JsonNode required : schema.path("required")) {
          if (!value.has(required.asText())) {
            return false;
          }
        }
        for (Map.Entry<String, JsonNode> member : value.properties()) {
          if (properties == null) {
            continue;
          }
          JsonNode sub = properties.get(member.getKey());
          if (sub == null || !valid(sub, member.getValue())) {
            return false;
          }
        }
        return true;
      }
      case "array": {
        if (!value.isArray()) {
          return false;
        }
        for (JsonNode item : value) {
          if (schema.has("items") && !valid(schema.get("items"), item)) {
            return false;
          }
        }
        return true;
      }
      case "string":
        return value.isTextual();
      case "integer":
        return value.isIntegralNumber();
      case "number":
        return value.isNumber();
      case "boolean":
        return value.isBoolean();
      case "null":
        return value.isNull();
      default:
        return false;
    }
  }
}
