package dev.rgemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading rules, refusals with clear messages, and the Split behaviours of Hugging Face's docs. */
class TokenizerFormatsTest {
  @TempDir Path dir;

  /** The example of Hugging Face's SplitDelimiterBehavior documentation: "the-final--countdown". */
  @Test
  void splitBehavioursMatchTheHuggingFaceDocumentation() {
    ObjectMapper json = new ObjectMapper();
    String text = "the-final--countdown";
    String[][] expected = {
      {"Removed", "the", "final", "countdown"},
      {"Isolated", "the", "-", "final", "-", "-", "countdown"},
      {"MergedWithPrevious", "the-", "final-", "-", "countdown"},
      {"MergedWithNext", "the", "-final", "-", "-countdown"},
      {"Contiguous", "the", "-", "final", "--", "countdown"},
    };
    for (String[] row : expected) {
      var config = json.createObjectNode().put("type", "Split").put("behavior", row[0]).put("invert", false);
      config.putObject("pattern").put("String", "-");
      JsonPreTokenizer split = JsonPreTokenizer.of(config, RgemmaException::new);
      assertEquals(List.of(row).subList(1, row.length), split.split(text, 0), row[0]);
    }
  }

  @Test
  void aDirectoryPrefersTokenizerJson() throws IOException {
    Files.copy(resource("gemma-like.model"), dir.resolve("tokenizer.model"));
    Tokenizer model = Tokenizer.load(dir);
    assertEquals(2000, model.vocabSize());
    Files.copy(TokenizerFiles.file(TokenizerFiles.LLAMA2), dir.resolve("tokenizer.json"));
    assertEquals(32000, Tokenizer.load(dir).vocabSize());
  }

  @Test
  void refusesWhatItCannotReadWithMessagesNamingTheFile() throws IOException {
    assertThrows(NoSuchFileException.class, () -> Tokenizer.load(dir.resolve("missing.json")));
    RgemmaException empty = assertThrows(RgemmaException.class, () -> Tokenizer.load(dir));
    assertTrue(empty.getMessage().contains("neither tokenizer.json nor tokenizer.model"), empty.getMessage());

    Path unigram = dir.resolve("unigram.json");
    Files.writeString(unigram, "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
    RgemmaException e = assertThrows(RgemmaException.class, () -> Tokenizer.load(unigram));
    assertTrue(e.getMessage().contains(unigram.toString()) && e.getMessage().contains("model.type"), e.getMessage());

    Path byteLevel = dir.resolve("bytelevel.json");
    Files.writeString(byteLevel, "{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
    e = assertThrows(RgemmaException.class, () -> Tokenizer.load(byteLevel));
    assertTrue(e.getMessage().contains("pre_tokenizer.type \"ByteLevel\""), e.getMessage());

    Path badJson = dir.resolve("bad.json");
    Files.writeString(badJson, "{\"model\": ");
    e = assertThrows(RgemmaException.class, () -> Tokenizer.load(badJson));
    assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());

    Path garbage = dir.resolve("garbage.model");
    byte[] bytes = new byte[1000];
    new Random(3).nextBytes(bytes);
    Files.write(garbage, bytes);
    e = assertThrows(RgemmaException.class, () -> Tokenizer.load(garbage));
    assertTrue(e.getMessage().contains(garbage.toString()), e.getMessage());

    Path truncated = dir.resolve("truncated.model");
    byte[] model = resource("gemma-like.model").readAllBytes();
    Files.write(truncated, java.util.Arrays.copyOf(model, model.length / 2));
    e = assertThrows(RgemmaException.class, () -> Tokenizer.load(truncated));
    assertTrue(e.getMessage().contains("not a SentencePiece model"), e.getMessage());
  }

  @Test
  void idsOutsideTheVocabularyAreRefused() throws IOException {
    Files.copy(resource("gemma-like.model"), dir.resolve("tokenizer.model"));
    Tokenizer model = Tokenizer.load(dir);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> model.decode(new int[] {5, 2000}, true));
    assertTrue(e.getMessage().contains("token id 2000"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> model.piece(-1));
  }

  /** Hand-checked: with no merges every character is its own piece or falls back to bytes. */
  @Test
  void tinyTokenizerJsonByHand() throws IOException {
    Path file = dir.resolve("tokenizer.json");
    Files.writeString(file, """
        {"added_tokens": [{"id": 0, "content": "<s>", "special": true}],
         "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\\u2581"},
         "pre_tokenizer": null,
         "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]},
         "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\\u2581"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
         "model": {"type": "BPE", "byte_fallback": true, "unk_token": null,
                   "vocab": {"<s>": 0, "a": 1, "b": 2, "\\u2581": 3, "ab": 4, "\\u2581ab": 5, "<0xC3>": 6, "<0xA9>": 7},
                   "merges": ["a b", "\\u2581 ab"]}}
        """);
    Tokenizer tokenizer = Tokenizer.load(file);
    assertArrayEquals(new int[] {0, 4, 5, 3, 1, 6, 7}, tokenizer.encode("ab ab a\u00e9", true));
    assertEquals("ab ab a\u00e9", tokenizer.decode(new int[] {0, 4, 5, 3, 1, 6, 7}, true));
    assertEquals("<s>ab", tokenizer.decode(new int[] {0, 4}, false));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tokenizer.encode("x", false));
    assertTrue(e.getMessage().contains("U+78"), e.getMessage());
  }

  private static InputStream resource(String name) {
    return TokenizerFormatsTest.class.getResourceAsStream("/tokenizer/" + name);
  }
}
