package dev.rgemma.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rgemma.testing.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of damage to a copy of the fixture gives an error naming the file, tensor and expectation. */
class DamagedCheckpointTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EMBED = TensorNames.EMBED_TOKENS;

  @TempDir Path temp;
  Path dir;

  @BeforeEach
  void copyFixture() throws IOException {
    dir = temp.resolve("model");
    Files.createDirectories(dir);
    Path source = Fixtures.dir("tiny-a");
    for (String name : new String[] {"config.json", "model.safetensors"}) {
      Files.copy(source.resolve(name), dir.resolve(name));
    }
  }

  private String loadError() {
    Exception e = assertThrows(Exception.class, () -> RecurrentGemmaModel.load(dir).close());
    assertTrue(e instanceof dev.rgemma.RgemmaException || e instanceof IOException,
        "unexpected exception type " + e);
    return e.getMessage() == null ? e.toString() : e.toString() + " " + e.getMessage();
  }

  private void assertLoadErrorMentions(String... parts) {
    String message = loadError();
    for (String part : parts) {
      assertTrue(message.contains(part), "error '" + message + "' should mention '" + part + "'");
    }
  }

  private void editConfig(Consumer<ObjectNode> edit) throws IOException {
    ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
    edit.accept(config);
    Files.writeString(dir.resolve("config.json"), config.toString());
  }

  /** Rewrites the safetensors header (keeping the data bytes). */
  private void editHeader(Consumer<ObjectNode> edit) throws IOException {
    Path file = dir.resolve("model.safetensors");
    byte[] bytes = Files.readAllBytes(file);
    long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    ObjectNode header = (ObjectNode) JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
    edit.accept(header);
    byte[] newHeader = header.toString().getBytes(StandardCharsets.UTF_8);
    ByteBuffer out = ByteBuffer.allocate(8 + newHeader.length + bytes.length - 8 - (int) headerLength)
        .order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(newHeader.length).put(newHeader).put(bytes, 8 + (int) headerLength, bytes.length - 8 - (int) headerLength);
    Files.write(file, out.array());
  }

  private static ArrayNode offsets(ObjectNode header, String tensor) {
    return (ArrayNode) header.get(tensor).get("data_offsets");
  }

  @Test
  void missingDirectory() {
    dir = temp.resolve("nope");
    assertLoadErrorMentions("nope", "not found");
  }

  @Test
  void missingConfig() throws IOException {
    Files.delete(dir.resolve("config.json"));
    assertLoadErrorMentions("config.json", "not found");
  }

  @Test
  void missingWeights() throws IOException {
    Files.delete(dir.resolve("model.safetensors"));
    assertLoadErrorMentions("model.safetensors", "model.safetensors.index.json");
  }

  @Test
  void invalidJson() throws IOException {
    Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 48,\n  ,}");
    String message = assertThrows(dev.rgemma.RgemmaException.class, () -> RecurrentGemmaModel.load(dir).close()).getMessage();
    // Jackson's own location text ("[Source: REDACTED (...)]") is replaced by line and column.
    assertEquals(dir.resolve("config.json") + ": line 2, column 3: Unexpected character (',' (code 44)): "
        + "was expecting double-quote to start field name", message);
    Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 48");
    message = assertThrows(dev.rgemma.RgemmaException.class, () -> RecurrentGemmaModel.load(dir).close()).getMessage();
    assertTrue(message.startsWith(dir.resolve("config.json") + ": line 1, column ") && !message.contains("Source:")
        && message.contains("start marker at line 1, column 1"), message);
  }

  /** --model naming config.json (or a shard) rather than its directory: say to pass the directory. */
  @Test
  void aFileOfTheCheckpointInsteadOfItsDirectory() {
    for (String name : new String[] {"config.json", "model.safetensors"}) {
      Path file = dir.resolve(name);
      String message = assertThrows(dev.rgemma.RgemmaException.class, () -> RecurrentGemmaModel.load(file).close())
          .getMessage();
      assertEquals(file + " is a file of a checkpoint, not a model: pass the directory that contains it (" + dir
          + ") or a .gguf file", message);
    }
  }

  @Test
  void missingConfigValue() throws IOException {
    editConfig(c -> c.remove("attention_window_size"));
    assertLoadErrorMentions("config.json", "attention_window_size", "missing");
  }

  @Test
  void invalidConfigValues() throws IOException {
    editConfig(c -> c.put("num_attention_heads", 5));
    assertLoadErrorMentions("config.json", "head_dim");
    copyFixtureAgain();
    editConfig(c -> c.put("hidden_size", "48"));
    assertLoadErrorMentions("config.json", "hidden_size", "integer");
    copyFixtureAgain();
    editConfig(c -> c.put("intermediate_size", 145));
    assertLoadErrorMentions("intermediate_size", "even");
    copyFixtureAgain();
    editConfig(c -> c.putArray("block_types").add("mamba"));
    assertLoadErrorMentions("block_types", "mamba");
    copyFixtureAgain();
    editConfig(c -> c.put("attention_window_size", 0));
    assertLoadErrorMentions("attention_window_size", "positive");
  }

  private void copyFixtureAgain() throws IOException {
    Files.copy(Fixtures.dir("tiny-a").resolve("config.json"), dir.resolve("config.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  @Test
  void missingTensor() throws IOException {
    String name = TensorNames.qProj(2);
    editHeader(h -> h.remove(name));
    assertLoadErrorMentions(name, "missing", "[48, 48]");
  }

  @Test
  void wrongShape() throws IOException {
    // The config says lru_width 64; claim 72 and the embedding no longer matches.
    editConfig(c -> c.put("hidden_size", 52).put("head_dim", 13));
    assertLoadErrorMentions("model.safetensors", EMBED, "[320, 48]", "[320, 52]");
  }

  @Test
  void unsupportedDtype() throws IOException {
    editHeader(h -> ((ObjectNode) h.get(EMBED)).put("dtype", "I32"));
    assertLoadErrorMentions("model.safetensors", EMBED, "I32", "F32, BF16 or F16");
  }

  @Test
  void dtypeThatDoesNotFitTheBytes() throws IOException {
    editHeader(h -> ((ObjectNode) h.get(EMBED)).put("dtype", "BF16"));
    assertLoadErrorMentions("model.safetensors", EMBED, "BF16", "bytes");
  }

  @Test
  void truncatedData() throws IOException {
    Path file = dir.resolve("model.safetensors");
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(bytes, bytes.length - 100));
    assertLoadErrorMentions("model.safetensors", "outside", "truncated");
  }

  @Test
  void headerLongerThanFile() throws IOException {
    Path file = dir.resolve("model.safetensors");
    byte[] bytes = Files.readAllBytes(file);
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, bytes.length + 1000L);
    Files.write(file, bytes);
    assertLoadErrorMentions("model.safetensors", "header length");
  }

  @Test
  void tinyFile() throws IOException {
    Files.write(dir.resolve("model.safetensors"), new byte[] {1, 2, 3});
    assertLoadErrorMentions("model.safetensors", "too short");
  }

  @Test
  void offsetsOutsideTheData() throws IOException {
    editHeader(h -> offsets(h, EMBED).set(1, offsets(h, EMBED).get(1).asLong() + 1_000_000));
    assertLoadErrorMentions("model.safetensors", EMBED, "outside");
  }

  @Test
  void negativeOffsets() throws IOException {
    editHeader(h -> offsets(h, EMBED).set(0, -4));
    assertLoadErrorMentions("model.safetensors", EMBED, "outside");
  }

  @Test
  void overlappingTensors() throws IOException {
    String a = TensorNames.FINAL_NORM;
    String b = TensorNames.temporalPreNorm(0);
    editHeader(h -> {
      offsets(h, b).set(0, offsets(h, a).get(0).asLong());
      offsets(h, b).set(1, offsets(h, a).get(1).asLong());
    });
    assertLoadErrorMentions("model.safetensors", "overlap");
  }

  @Test
  void headerNotJson() throws IOException {
    Path file = dir.resolve("model.safetensors");
    byte[] bytes = Files.readAllBytes(file);
    bytes[8] = 'x';
    Files.write(file, bytes);
    assertLoadErrorMentions("model.safetensors", "JSON");
  }

  @Test
  void shardNamedInIndexButAbsent() throws IOException {
    // Split into an index naming two shards, only one of which exists.
    Files.move(dir.resolve("model.safetensors"), dir.resolve("model-00001-of-00002.safetensors"));
    ObjectNode index = JSON.createObjectNode();
    ObjectNode weightMap = index.putObject("weight_map");
    byte[] bytes = Files.readAllBytes(dir.resolve("model-00001-of-00002.safetensors"));
    long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    ObjectNode header = (ObjectNode) JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
    header.fieldNames().forEachRemaining(n -> {
      if (!n.equals("__metadata__")) {
        weightMap.put(n, "model-00001-of-00002.safetensors");
      }
    });
    weightMap.put(TensorNames.FINAL_NORM, "model-00002-of-00002.safetensors");
    Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
    assertLoadErrorMentions("model.safetensors.index.json", "model-00002-of-00002.safetensors", "does not exist");
  }

  @Test
  void shardedCheckpointLoads() throws Exception {
    // The same weights split over an index still give the reference logits (shards are real).
    Files.move(dir.resolve("model.safetensors"), dir.resolve("model-00001-of-00001.safetensors"));
    ObjectNode index = JSON.createObjectNode();
    ObjectNode weightMap = index.putObject("weight_map");
    byte[] bytes = Files.readAllBytes(dir.resolve("model-00001-of-00001.safetensors"));
    long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8)).fieldNames()
        .forEachRemaining(n -> weightMap.put(n, "model-00001-of-00001.safetensors"));
    weightMap.remove("__metadata__");
    Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(dir)) {
      int[] tokens = Fixtures.ints(Fixtures.expected(Fixtures.dir("tiny-a")).get("input_tokens"));
      Fixtures.assertClose("sharded", model.forwardAll(model.newState(), tokens),
          Fixtures.npy(Fixtures.dir("tiny-a"), "expected_forward_logits.npy").data());
    }
    assertTrue(Stream.of(dir.toFile().list()).anyMatch(n -> n.endsWith("index.json")));
  }
}
