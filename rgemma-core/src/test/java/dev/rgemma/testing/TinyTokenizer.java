package dev.rgemma.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Gemma-style {@code tokenizer.json} with 320 tokens for the tiny fixture model: {@code <pad>}
 * 0, {@code <eos>} 1, {@code <bos>} 2, {@code <unk>} 3, {@code <start_of_turn>} 4, {@code
 * <end_of_turn>} 5, the 256 byte-fallback pieces 6..261, then "▁" and the letters a-z, A-Z and a
 * few merged pieces. Spaces become "▁" (SentencePiece), BOS is added by the post-processor.
 */
public final class TinyTokenizer {
  public static final int BOS = 2;
  public static final int START_OF_TURN = 4;
  public static final int END_OF_TURN = 5;
  public static final int VOCAB = 320;

  private TinyTokenizer() {}

  /** Copies the tiny-a fixture (config and f32 weights) into {@code dir} and adds the tokenizer. */
  public static Path fixtureModelWithTokenizer(Path dir) {
    copyFixture("config.json", dir);
    copyFixture("model.safetensors", dir);
    write(dir.resolve("tokenizer.json"));
    return dir;
  }

  /** Copies a file of the tiny-a fixture out of the test resources (which may be inside a jar). */
  public static void copyFixture(String name, Path dir) {
    try (InputStream in = TinyTokenizer.class.getResourceAsStream("/fixtures/tiny-a/" + name)) {
      if (in == null) {
        throw new IllegalStateException("fixture file tiny-a/" + name + " is missing from the test resources");
      }
      Files.createDirectories(dir);
      Files.copy(in, dir.resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static void write(Path file) {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    root.put("version", "1.0");
    ArrayNode added = root.putArray("added_tokens");
    String[] specials = {"<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"};
    ObjectNode vocab = json.createObjectNode();
    for (int id = 0; id < specials.length; id++) {
      added.addObject().put("id", id).put("content", specials[id]).put("single_word", false)
          .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
      vocab.put(specials[id], id);
    }
    int id = specials.length;
    for (int b = 0; b < 256; b++) {
      vocab.put(String.format("<0x%02X>", b), id++);
    }
    vocab.put("\u2581", id++);
    for (char c = 'a'; c <= 'z'; c++) {
      vocab.put(String.valueOf(c), id++);
    }
    for (char c = 'A'; c <= 'Z'; c++) {
      vocab.put(String.valueOf(c), id++);
    }
    String[][] merges = {{"\u2581", "t"}, {"h", "e"}, {"\u2581t", "he"}, {"i", "n"}};
    ArrayNode mergeList = json.createArrayNode();
    for (String[] merge : merges) {
      vocab.put(merge[0] + merge[1], id++);
      mergeList.add(merge[0] + " " + merge[1]);
    }
    if (id > VOCAB) {
      throw new IllegalStateException("tiny tokenizer has " + id + " tokens, more than " + VOCAB);
    }
    ObjectNode normalizer = root.putObject("normalizer");
    normalizer.put("type", "Replace");
    normalizer.putObject("pattern").put("String", " ");
    normalizer.put("content", "\u2581");
    root.putNull("pre_tokenizer");
    ObjectNode post = root.putObject("post_processor");
    post.put("type", "TemplateProcessing");
    post.putArray("single").add(specialToken(json, "<bos>")).add(sequence(json, "A"));
    post.putArray("pair").add(specialToken(json, "<bos>")).add(sequence(json, "A"))
        .add(specialToken(json, "<bos>")).add(sequence(json, "B"));
    ObjectNode bos = post.putObject("special_tokens").putObject("<bos>");
    bos.put("id", "<bos>");
    bos.putArray("ids").add(BOS);
    bos.putArray("tokens").add("<bos>");
    ObjectNode decoder = root.putObject("decoder");
    decoder.put("type", "Sequence");
    ArrayNode decoders = decoder.putArray("decoders");
    ObjectNode replace = decoders.addObject();
    replace.put("type", "Replace");
    replace.putObject("pattern").put("String", "\u2581");
    replace.put("content", " ");
    decoders.addObject().put("type", "ByteFallback");
    decoders.addObject().put("type", "Fuse");
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.put("unk_token", "<unk>");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", true);
    model.put("byte_fallback", true);
    model.set("vocab", vocab);
    model.set("merges", mergeList);
    try {
      Files.writeString(file, json.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static ObjectNode specialToken(ObjectMapper json, String id) {
    ObjectNode node = json.createObjectNode();
    node.putObject("SpecialToken").put("id", id).put("type_id", 0);
    return node;
  }

  private static ObjectNode sequence(ObjectMapper json, String id) {
    ObjectNode node = json.createObjectNode();
    node.putObject("Sequence").put("id", id).put("type_id", 0);
    return node;
  }
}
