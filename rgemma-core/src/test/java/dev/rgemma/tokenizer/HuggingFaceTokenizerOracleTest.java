package dev.rgemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact agreement with @lenml/tokenizers (transformers.js) on the shared corpus: ids with and
 * without special tokens, decoded text with and without special tokens, byte-fallback decoding of
 * invalid UTF-8, and for Gemma 3 the round trip and the streaming decoder.
 */
class HuggingFaceTokenizerOracleTest {

  /** Gemma 1's tokenizer.json: 256,000 pieces, the vocabulary RecurrentGemma uses too. */
  @Test
  void gemmaMatchesTransformersJs() throws IOException {
    Tokenizer tokenizer = TokenizerFiles.tokenizer(TokenizerFiles.GEMMA);
    List<String> failures = compare(tokenizer, "hf-gemma.jsonl", true);
    failures.addAll(compare(tokenizer, "hf-gemma-chat.jsonl", true));
    assertTrue(failures.isEmpty(), summary(failures));
  }

  @Test
  void gemmaSpecialTokensAndMetadata() {
    Tokenizer tokenizer = TokenizerFiles.tokenizer(TokenizerFiles.GEMMA);
    assertEquals(256000, tokenizer.vocabSize());
    assertEquals(2, tokenizer.bosId());
    assertEquals(1, tokenizer.eosId());
    assertEquals(106, tokenizer.tokenId("<start_of_turn>").orElseThrow());
    assertEquals(107, tokenizer.tokenId("<end_of_turn>").orElseThrow());
    assertTrue(tokenizer.isSpecial(107));
    assertArrayEquals(new int[] {2, 106}, tokenizer.encode("<bos><start_of_turn>", false));
  }

  @Test
  void gemma3MatchesTransformersJs() throws IOException {
    Tokenizer tokenizer = TokenizerFiles.tokenizer(TokenizerFiles.GEMMA3);
    List<String> failures = compare(tokenizer, "hf-gemma3.jsonl", true);
    failures.addAll(compare(tokenizer, "hf-gemma3-chat.jsonl", true));
    assertTrue(failures.isEmpty(), summary(failures));
  }

  @Test
  void llama2MatchesTransformersJs() throws IOException {
    Tokenizer tokenizer = TokenizerFiles.tokenizer(TokenizerFiles.LLAMA2);
    List<String> failures = compare(tokenizer, "hf-llama2.jsonl", false);
    assertTrue(failures.isEmpty(), summary(failures));
  }

  /** Llama 2 with an NFKC normalizer and a Metaspace pre-tokenizer, edited as hf_oracle.js does. */
  @Test
  void llama2WithMetaspaceAndNfkcMatchesTransformersJs(@TempDir Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = (ObjectNode) json.readTree(TokenizerFiles.file(TokenizerFiles.LLAMA2).toFile());
    root.set("normalizer", json.readTree("{\"type\":\"NFKC\"}"));
    root.set("pre_tokenizer", json.readTree(
        "{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"add_prefix_space\":true,"
            + "\"prepend_scheme\":\"first\",\"split\":false}"));
    Path file = dir.resolve("tokenizer.json");
    json.writeValue(file.toFile(), root);
    List<String> failures = compare(Tokenizer.load(file), "hf-llama2-metaspace-nfkc.jsonl", false);
    assertTrue(failures.isEmpty(), summary(failures));
  }

  @Test
  void gemma3SpecialTokensAndMetadata() {
    Tokenizer tokenizer = TokenizerFiles.tokenizer(TokenizerFiles.GEMMA3);
    assertEquals(262145, tokenizer.vocabSize());
    assertEquals(2, tokenizer.bosId());
    assertEquals(1, tokenizer.eosId());
    assertEquals(105, tokenizer.tokenId("<start_of_turn>").orElseThrow());
    assertEquals(106, tokenizer.tokenId("<end_of_turn>").orElseThrow());
    assertTrue(tokenizer.isSpecial(105));
    assertEquals("<0x41>", tokenizer.piece(tokenizer.tokenId("<0x41>").orElseThrow()));
    assertArrayEquals(new int[] {2, 105}, tokenizer.encode("<bos><start_of_turn>", false));
  }

  static List<String> compare(Tokenizer tokenizer, String resource, boolean roundTrips) throws IOException {
    List<String> failures = new ArrayList<>();
    for (JsonNode c : OracleCases.read(resource)) {
      if (c.path("decode_only").asBoolean(false)) {
        int[] ids = OracleCases.ids(c.get("ids"));
        check(failures, "decode " + Arrays.toString(ids), c.get("decoded").asText(), tokenizer.decode(ids, true));
        check(failures, "decode with special " + Arrays.toString(ids),
            c.get("decoded_with_special").asText(), tokenizer.decode(ids, false));
        check(failures, "stream " + Arrays.toString(ids), c.get("decoded").asText(),
            OracleCases.stream(tokenizer, ids, true, failures));
        continue;
      }
      String text = c.get("text").asText();
      String shown = OracleCases.show(text);
      int[] expected = OracleCases.ids(c.get("ids"));
      int[] actual = tokenizer.encode(text, false);
      if (!Arrays.equals(expected, actual)) {
        failures.add("encode " + shown + ": expected " + Arrays.toString(expected) + " got " + Arrays.toString(actual));
        continue;
      }
      int[] withSpecial = OracleCases.ids(c.get("ids_with_special"));
      if (!Arrays.equals(withSpecial, tokenizer.encode(text, true))) {
        failures.add("encode with special tokens " + shown);
      }
      check(failures, "decode " + shown, c.get("decoded").asText(), tokenizer.decode(withSpecial, true));
      check(failures, "decode with special " + shown, c.get("decoded_with_special").asText(),
          tokenizer.decode(withSpecial, false));
      check(failures, "stream " + shown, c.get("decoded").asText(),
          OracleCases.stream(tokenizer, withSpecial, true, failures));
      // U+2581 is how the vocabulary spells a space, so the decoder turns it into one: the only
      // characters that cannot survive the round trip (the references behave the same).
      if (roundTrips && text.indexOf('\u2581') < 0) {
        check(failures, "round trip " + shown, text, tokenizer.decode(actual, false));
      }
    }
    return failures;
  }

  private static void check(List<String> failures, String what, String expected, String actual) {
    if (!expected.equals(actual)) {
      failures.add(what + ": expected " + OracleCases.show(expected) + " got " + OracleCases.show(actual));
    }
  }

  static String summary(List<String> failures) {
    return failures.size() + " mismatches, first ones:\n"
        + String.join("\n", failures.subList(0, Math.min(15, failures.size())));
  }
}
