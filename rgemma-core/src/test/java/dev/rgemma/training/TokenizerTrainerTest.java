package dev.rgemma.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTrainerTest {
  private static final String TEXT = """
      Call me Ishmael. Some years ago—never mind how long precisely—having little or no money
      in my purse, and nothing particular to interest me on shore, I thought I would sail about
      a little and see the watery part of the world. The whale, the whale! 1851 naïve café.
      """.repeat(3);

  @Test
  void splitsWordsAtSpacesClassesAndDigits() {
    assertEquals(List.of("Call", "▁me", "▁Ishmael", ".", "▁", "▁4", "2", "7", "\n\n", "x"),
        TokenizerTrainer.splitWords(TokenizerTrainer.normalize("Call me Ishmael.  427\n\nx")));
  }

  @Test
  void vocabularyLayoutAndRoundTrip(@TempDir Path dir) throws Exception {
    Path input = dir.resolve("in.txt");
    Files.writeString(input, TEXT);
    TokenizerTrainer.Vocabulary v = TokenizerTrainer.train(List.of(input), 330);
    assertEquals(330, v.pieces().size());
    assertEquals(List.of("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"),
        v.pieces().subList(0, 6));
    assertEquals("<0x00>", v.pieces().get(6));
    assertEquals("<0xFF>", v.pieces().get(261));
    assertTrue(v.pieces().contains("▁the"), "frequent word piece learned");
    BpeEncoder encoder = new BpeEncoder(v);
    String sample = "The whale sails — 日本 naïve!\n";
    int[] ids = encoder.encode(sample);
    assertEquals(sample, encoder.decode(ids));
    int bytes = 0;
    for (int id : ids) {
      bytes += encoder.byteLength(id);
    }
    assertEquals(sample.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, bytes);
    // 日 is not in the training text: byte fallback gives its three UTF-8 bytes
    int[] cjk = encoder.encode("日");
    assertArrayEquals(new int[] {6 + 0xE6, 6 + 0x97, 6 + 0xA5}, cjk);
  }

  @Test
  void writesAGemmaStyleTokenizerJsonThatLoadsBack(@TempDir Path dir) throws Exception {
    Path input = dir.resolve("in.txt");
    Files.writeString(input, TEXT);
    TokenizerTrainer.Vocabulary v = TokenizerTrainer.train(List.of(input), 300);
    TokenizerTrainer.write(v, dir);
    JsonNode root = new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile());
    assertEquals("BPE", root.at("/model/type").asText());
    assertTrue(root.at("/model/byte_fallback").asBoolean());
    assertEquals("Replace", root.at("/normalizer/type").asText());
    assertEquals("▁", root.at("/normalizer/content").asText());
    assertTrue(root.get("pre_tokenizer").isNull());
    assertEquals("TemplateProcessing", root.at("/post_processor/type").asText());
    assertEquals(2, root.at("/post_processor/special_tokens/<bos>/ids/0").asInt());
    assertEquals("ByteFallback", root.at("/decoder/decoders/1/type").asText());
    assertEquals("<end_of_turn>", root.at("/added_tokens/5/content").asText());
    assertEquals(v.merges().size(), root.at("/model/merges").size());
    JsonNode config = new ObjectMapper().readTree(dir.resolve("tokenizer_config.json").toFile());
    assertEquals("<bos>", config.get("bos_token").asText());
    BpeEncoder fromJson = BpeEncoder.load(dir.resolve("tokenizer.json"));
    assertArrayEquals(new BpeEncoder(v).encode(TEXT), fromJson.encode(TEXT));
  }

  @Test
  void theProjectTokenizerEncodesLikeTheTrainersEncoder(@TempDir Path dir) throws Exception {
    Path input = dir.resolve("in.txt");
    Files.writeString(input, TEXT);
    TokenizerTrainer.Vocabulary v = TokenizerTrainer.train(List.of(input), 320);
    TokenizerTrainer.write(v, dir);
    dev.rgemma.tokenizer.Tokenizer tokenizer = dev.rgemma.tokenizer.Tokenizer.load(dir);
    BpeEncoder encoder = new BpeEncoder(v);
    for (String s : List.of(TEXT, "  two  spaces\n\nand 1851 — naïve 日本 whale’s", "x")) {
      assertArrayEquals(encoder.encode(s), tokenizer.encode(s, false), s);
      assertEquals(s, tokenizer.decode(tokenizer.encode(s, true), true));
    }
    assertEquals(2, tokenizer.encode("Call me", true)[0]);
    assertEquals(2, tokenizer.bosId());
    assertEquals(1, tokenizer.eosId());
  }
}
