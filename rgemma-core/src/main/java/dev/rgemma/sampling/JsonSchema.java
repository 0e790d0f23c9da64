package dev.rgemma.sampling;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The part of JSON Schema that {@link JsonConstraint} can enforce while generating, compiled from
 * its JSON form: {@code type} (one of object, array, string, number, integer, boolean, null),
 * {@code properties} with {@code required} (the properties come in the order the schema lists them;
 * optional ones may be left out, no others appear: {@code additionalProperties} may only be false),
 * {@code items}, {@code enum} and {@code const} of strings, booleans or null, and {@code anyOf} /
 * {@code oneOf} or a list of types whose members start differently (e.g. a string or null, as
 * optional fields are often written). Annotations ({@code
 * title}, {@code description}, {@code $schema}, {@code $id}, {@code examples}, {@code default}) are
 * ignored. Any other keyword is refused by name, since generating as if it were absent could give
 * output the schema rejects. An empty schema ({@code {}}) is any JSON value. Objects and arrays
 * may nest at most {@link JsonConstraint#MAX_DEPTH} levels (the root object is the first); a deeper
 * schema is refused, even where its deep part is optional, since the constraint could not follow it.
 */
public final class JsonSchema {
  /** What a value may be. */
  enum Kind { ANY, OBJECT, ANY_OBJECT, ARRAY, STRING, NUMBER, INTEGER, BOOLEAN, NULL, ENUM, UNION }

  /** A compiled schema node. */
  static final class Node {
    final Kind kind;
    final byte[][] names; // OBJECT: property names, in order
    final Node[] properties; // OBJECT: their schemas
    final boolean[] required; // OBJECT
    final Node items; // ARRAY: the items' schema
    final byte[][] values; // ENUM: each allowed value as JSON bytes
    final Node[] byFirstByte; // UNION: the member a value starting with each byte belongs to (or null)

    Node(Kind kind, byte[][] names, Node[] properties, boolean[] required, Node items, byte[][] values) {
      this(kind, names, properties, required, items, values, null);
    }

    Node(Kind kind, byte[][] names, Node[] properties, boolean[] required, Node items, byte[][] values,
        Node[] byFirstByte) {
      this.byFirstByte = byFirstByte;
      this.kind = kind;
      this.names = names;
      this.properties = properties;
      this.required = required;
      this.items = items;
      this.values = values;
    }

    static Node of(Kind kind) {
      return new Node(kind, null, null, null, null, null);
    }
  }

  /** Most properties of one object. */
  public static final int MAX_PROPERTIES = 63;
  /** Most values of one enum. */
  public static final int MAX_ENUM_VALUES = 63;

  private static final Set<String> ANNOTATIONS =
      Set.of("title", "description", "$schema", "$id", "examples", "default", "$comment");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Any JSON value (for a key of a free object). */
  static final Node ANY = Node.of(Kind.ANY);

  /** Any JSON object (JSON mode without a schema). */
  public static final JsonSchema ANY_OBJECT = new JsonSchema(Node.of(Kind.ANY_OBJECT));

  final Node root;

  private JsonSchema(Node root) {
    this.root = root;
  }

  /**
   * {@link #compile} of a schema written as JSON text.
   *
   * @throws IllegalArgumentException if the text is not JSON, or as {@link #compile}
   */
  public static JsonSchema parse(String text) {
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IllegalArgumentException("not valid JSON: " + dev.rgemma.io.JsonErrors.describe(e));
    }
    return compile(node);
  }

  /**
   * Compiles a schema; the root must be an object schema.
   *
   * @throws IllegalArgumentException naming the keyword and its place (e.g. {@code
   *     properties.name.pattern}) if the schema uses what this subset cannot enforce, or nests
   *     objects and arrays more than {@link JsonConstraint#MAX_DEPTH} levels deep
   */
  public static JsonSchema compile(JsonNode schema) {
    Node root = node(schema, "", 0);
    if (root.kind != Kind.OBJECT && root.kind != Kind.ANY_OBJECT) {
      throw new IllegalArgumentException("the schema's root must be an object schema ({\"type\": \"object\", ...})");
    }
    return new JsonSchema(root);
  }

  /** @param depth how many objects and arrays enclose the value (the root: 0) */
  private static Node node(JsonNode schema, String at, int depth) {
    String here = at.isEmpty() ? "the schema" : at;
    if (schema == null || !schema.isObject()) {
      throw new IllegalArgumentException(here + " must be a JSON object, got " + schema);
    }
    Set<String> used = new HashSet<>();
    for (Map.Entry<String, JsonNode> field : schema.properties()) {
      used.add(field.getKey());
    }
    used.removeAll(ANNOTATIONS);
    if (used.contains("enum") || used.contains("const")) {
      return enumNode(schema, at, used);
    }
    if (used.contains("anyOf") || used.contains("oneOf")) {
      String key = used.contains("anyOf") ? "anyOf" : "oneOf";
      used.remove(key);
      refuse(at, used);
      JsonNode members = schema.get(key);
      if (!members.isArray() || members.isEmpty()) {
        throw new IllegalArgumentException(path(at, key) + " must be a non-empty array of schemas");
      }
      List<Node> nodes = new ArrayList<>();
      for (int i = 0; i < members.size(); i++) {
        nodes.add(node(members.get(i), path(at, key + "[" + i + "]"), depth));
      }
      return union(nodes, path(at, key));
    }
    JsonNode typeNode = schema.get("type");
    if (typeNode != null && typeNode.isArray()) {
      // A list of types: one member per type, each with the keywords that apply to it.
      List<Node> nodes = new ArrayList<>();
      for (JsonNode type : typeNode) {
        com.fasterxml.jackson.databind.node.ObjectNode member = schema.deepCopy();
        member.set("type", type);
        if (!type.asText().equals("object")) {
          member.remove(List.of("properties", "required", "additionalProperties"));
        }
        if (!type.asText().equals("array")) {
          member.remove("items");
        }
        nodes.add(node(member, at, depth));
      }
      if (nodes.isEmpty()) {
        throw new IllegalArgumentException(path(at, "type") + " is an empty list");
      }
      return union(nodes, path(at, "type"));
    }
    if (typeNode == null) {
      used.remove("type");
      if (!used.isEmpty()) {
        throw new IllegalArgumentException(path(at, used.iterator().next())
            + " is not supported without a \"type\" (supported: type, properties, required, "
            + "additionalProperties: false, items, enum, const)");
      }
      return Node.of(Kind.ANY);
    }
    if (!typeNode.isTextual()) {
      throw new IllegalArgumentException(path(at, "type") + " must be a type name or a list of them, got " + typeNode);
    }
    String type = typeNode.asText();
    used.remove("type");
    return switch (type) {
      case "object" -> objectNode(schema, at, used, depth);
      case "array" -> {
        used.remove("items");
        refuse(at, used);
        checkDepth(at, depth);
        JsonNode items = schema.get("items");
        yield new Node(Kind.ARRAY, null, null, null,
            items == null ? Node.of(Kind.ANY) : node(items, path(at, "items"), depth + 1), null);
      }
      case "string" -> leaf(Kind.STRING, at, used);
      case "number" -> leaf(Kind.NUMBER, at, used);
      case "integer" -> leaf(Kind.INTEGER, at, used);
      case "boolean" -> leaf(Kind.BOOLEAN, at, used);
      case "null" -> leaf(Kind.NULL, at, used);
      default -> throw new IllegalArgumentException(path(at, "type") + " \"" + type + "\" is not a JSON Schema type "
          + "(object, array, string, number, integer, boolean, null)");
    };
  }

  private static Node objectNode(JsonNode schema, String at, Set<String> used, int depth) {
    used.remove("properties");
    used.remove("required");
    JsonNode additional = schema.get("additionalProperties");
    JsonNode properties = schema.get("properties");
    used.remove("additionalProperties");
    boolean closed = additional != null && additional.isBoolean() && !additional.asBoolean();
    if (additional != null && !additional.isBoolean()) {
      throw new IllegalArgumentException(path(at, "additionalProperties")
          + " may be true (without \"properties\") or false, not a schema");
    }
    if (additional != null && !closed && properties != null) {
      throw new IllegalArgumentException(path(at, "additionalProperties")
          + " may only be false beside \"properties\": only the listed properties are generated");
    }
    refuse(at, used);
    checkDepth(at, depth);
    if (properties == null) {
      if (schema.has("required") && !schema.get("required").isEmpty()) {
        throw new IllegalArgumentException(path(at, "required") + " names properties, but there are no \"properties\"");
      }
      return closed ? new Node(Kind.OBJECT, new byte[0][], new Node[0], new boolean[0], null, null)
          : Node.of(Kind.ANY_OBJECT);
    }
    if (!properties.isObject()) {
      throw new IllegalArgumentException(path(at, "properties") + " must be an object, got " + properties);
    }
    if (properties.size() > MAX_PROPERTIES) {
      throw new IllegalArgumentException(path(at, "properties") + " has " + properties.size()
          + " properties; at most " + MAX_PROPERTIES + " are supported");
    }
    List<String> names = new ArrayList<>();
    List<Node> nodes = new ArrayList<>();
    for (Map.Entry<String, JsonNode> property : properties.properties()) {
      String name = property.getKey();
      for (int i = 0; i < name.length(); i++) {
        char c = name.charAt(i);
        if (c < 0x20 || c == '"' || c == '\\') {
          throw new IllegalArgumentException(path(at, "properties") + ": the property name " + JSON.valueToTree(name)
              + " would need escaping in JSON, which is not supported");
        }
      }
      names.add(name);
      nodes.add(node(property.getValue(), path(path(at, "properties"), name), depth + 1));
    }
    boolean[] required = new boolean[names.size()];
    JsonNode requiredNode = schema.get("required");
    if (requiredNode != null) {
      if (!requiredNode.isArray()) {
        throw new IllegalArgumentException(path(at, "required") + " must be an array of property names");
      }
      for (JsonNode name : requiredNode) {
        int index = names.indexOf(name.asText());
        if (!name.isTextual() || index < 0) {
          throw new IllegalArgumentException(path(at, "required") + " names " + name + ", which is not in \"properties\"");
        }
        required[index] = true;
      }
    }
    byte[][] nameBytes = new byte[names.size()][];
    for (int i = 0; i < nameBytes.length; i++) {
      nameBytes[i] = names.get(i).getBytes(StandardCharsets.UTF_8);
    }
    return new Node(Kind.OBJECT, nameBytes, nodes.toArray(new Node[0]), required, null, null);
  }

  private static Node enumNode(JsonNode schema, String at, Set<String> used) {
    if (used.contains("enum") && used.contains("const")) {
      throw new IllegalArgumentException(at.isEmpty() ? "the schema" : at + " has both \"enum\" and \"const\"");
    }
    String key = used.contains("enum") ? "enum" : "const";
    used.remove(key);
    used.remove("type"); // the values decide; a type beside them must agree, checked below
    refuse(at, used);
    JsonNode values = key.equals("enum") ? schema.get("enum") : JSON.createArrayNode().add(schema.get("const"));
    if (!values.isArray() || values.isEmpty()) {
      throw new IllegalArgumentException(path(at, key) + " must be a non-empty array");
    }
    Set<String> distinct = new LinkedHashSet<>();
    for (JsonNode value : values) {
      if (!(value.isTextual() || value.isBoolean() || value.isNull())) {
        throw new IllegalArgumentException(path(at, key) + " may only hold strings, booleans and null, got " + value);
      }
      JsonNode type = schema.get("type");
      if (type != null && !type.asText().equals(value.isTextual() ? "string" : value.isBoolean() ? "boolean" : "null")) {
        throw new IllegalArgumentException(path(at, key) + " holds " + value + ", which is not of type " + type);
      }
      distinct.add(value.toString());
    }
    if (distinct.size() > MAX_ENUM_VALUES) {
      throw new IllegalArgumentException(path(at, key) + " has " + distinct.size() + " values; at most "
          + MAX_ENUM_VALUES + " are supported");
    }
    byte[][] bytes = new byte[distinct.size()][];
    int i = 0;
    for (String value : distinct) {
      bytes[i++] = value.getBytes(StandardCharsets.UTF_8);
    }
    return new Node(Kind.ENUM, null, null, null, null, bytes);
  }

  /**
   * A value that may follow any of {@code members}: which one is told by the value's first byte, so
   * the members must start differently (one object, one array, one string or string enum, ...). A
   * number and an integer member make a number; a member of any value makes the union any value.
   */
  private static Node union(List<Node> members, String at) {
    Node[] byFirst = new Node[256];
    for (Node member : members) {
      if (member.kind == Kind.ANY) {
        return member;
      }
      for (Node part : member.kind == Kind.UNION ? distinct(member.byFirstByte) : List.of(member)) {
        for (int b : firstBytes(part)) {
          Node other = byFirst[b];
          if (other != null && other != part) {
            boolean numbers = (other.kind == Kind.NUMBER || other.kind == Kind.INTEGER)
                && (part.kind == Kind.NUMBER || part.kind == Kind.INTEGER);
            if (!numbers) {
              throw new IllegalArgumentException(at + ": two members can start with '" + (char) b
                  + "' (e.g. two object or two string schemas), which is not supported: the first byte must tell them apart");
            }
            byFirst[b] = other.kind == Kind.NUMBER ? other : part; // an integer is a number
            continue;
          }
          byFirst[b] = part;
        }
      }
    }
    return new Node(Kind.UNION, null, null, null, null, null, byFirst);
  }

  private static List<Node> distinct(Node[] nodes) {
    List<Node> out = new ArrayList<>();
    for (Node node : nodes) {
      if (node != null && !out.contains(node)) {
        out.add(node);
      }
    }
    return out;
  }

  /** The bytes a value of {@code node} can start with. */
  private static int[] firstBytes(Node node) {
    return switch (node.kind) {
      case OBJECT, ANY_OBJECT -> new int[] {'{'};
      case ARRAY -> new int[] {'['};
      case STRING -> new int[] {'"'};
      case BOOLEAN -> new int[] {'t', 'f'};
      case NULL -> new int[] {'n'};
      case NUMBER, INTEGER -> new int[] {'-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'};
      case ENUM -> {
        Set<Integer> bytes = new LinkedHashSet<>();
        for (byte[] value : node.values) {
          bytes.add(value[0] & 0xFF);
        }
        yield bytes.stream().mapToInt(Integer::intValue).toArray();
      }
      default -> throw new IllegalStateException("no first bytes for " + node.kind);
    };
  }

  /**
   * An object or array inside {@code depth} others: refused beyond {@link JsonConstraint#MAX_DEPTH}
   * levels, which the constraint cannot open. Accepting it would end its answers at that depth
   * with nothing left to generate (or leave its optional parts out unasked), so the schema fails
   * up front instead, wherever its deep part is optional or not.
   */
  private static void checkDepth(String at, int depth) {
    if (depth + 1 > JsonConstraint.MAX_DEPTH) {
      throw new IllegalArgumentException((at.isEmpty() ? "the schema" : at) + ": objects and arrays are nested "
          + (depth + 1) + " deep here; at most " + JsonConstraint.MAX_DEPTH + " levels are supported");
    }
  }

  private static Node leaf(Kind kind, String at, Set<String> used) {
    refuse(at, used);
    return Node.of(kind);
  }

  private static void refuse(String at, Set<String> used) {
    if (!used.isEmpty()) {
      throw new IllegalArgumentException(path(at, used.iterator().next()) + " is not supported (supported: type, "
          + "properties, required, additionalProperties: false, items, enum, const, anyOf / oneOf of schemas that "
          + "start differently; annotations are ignored)");
    }
  }

  private static String path(String at, String key) {
    return at.isEmpty() ? key : at + "." + key;
  }
}
