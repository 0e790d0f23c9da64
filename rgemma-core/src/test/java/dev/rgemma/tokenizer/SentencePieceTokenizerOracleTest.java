package dev.rgemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Exact agreement with SentencePiece 0.1.97 (Debian's python3-sentencepiece) on two small BPE
 * models trained by src/test/oracle/train_spm.py: one with Gemma's options, one with
 * SentencePiece's defaults (nmt_nfkc rules, dummy prefix, whitespace folding, no byte fallback).
 */
class SentencePieceTokenizerOracleTest {

  static Tokenizer model(String name) throws IOException {
    try {
      return Tokenizer.load(Path.of(SentencePieceTokenizerOracleTest.class.getResource("/tokenizer/" + name).toURI()));
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void gemmaLikeModelMatchesSentencePiece() throws IOException {
    Tokenizer tokenizer = model("gemma-like.model");
    List<String> failures = compare(tokenizer, "spm-gemma-like.jsonl", true);
    assertTrue(failures.isEmpty(), HuggingFaceTokenizerOracleTest.summary(failures));
  }

  @Test
  void defaultsModelMatchesSentencePiece() throws IOException {
    Tokenizer tokenizer = model("defaults.model");
    List<String> failures = compare(tokenizer, "spm-defaults.jsonl", false);
    assertTrue(failures.isEmpty(), HuggingFaceTokenizerOracleTest.summary(failures));
  }

  @Test
  void metadataAndSpecialTokens() throws IOException {
    Tokenizer tokenizer = model("gemma-like.model");
    assertEquals(2000, tokenizer.vocabSize());
    assertEquals(2, tokenizer.bosId());
    assertEquals(1, tokenizer.eosId());
    assertEquals(4, tokenizer.tokenId("<start_of_turn>").orElseThrow());
    assertTrue(tokenizer.isSpecial(2));
    assertFalse(tokenizer.isSpecial(4));
    assertArrayEquals(new int[] {2, 4}, tokenizer.encode("<bos><start_of_turn>", false));
    assertEquals("<bos>x", tokenizer.decode(tokenizer.encode("x", true), false));
    assertEquals("x", tokenizer.decode(tokenizer.encode("x", true), true));
    Tokenizer defaults = model("defaults.model");
    assertEquals(1, defaults.bosId());
    assertEquals(2, defaults.eosId());
  }

  static List<String> compare(Tokenizer tokenizer, String resource, boolean roundTrips) throws IOException {
    List<String> failures = new ArrayList<>();
    int checked = 0;
    for (JsonNode c : OracleCases.read(resource)) {
      int[] ids = OracleCases.ids(c.get("ids"));
      if (c.path("decode_only").asBoolean(false)) {
        String expected = c.get("decoded").asText();
        String actual = tokenizer.decode(ids, true);
        if (!expected.equals(actual)) {
          failures.add("decode " + Arrays.toString(ids) + ": expected " + OracleCases.show(expected) + " got " + OracleCases.show(actual));
        }
        String streamed = OracleCases.stream(tokenizer, ids, true, failures);
        if (!expected.equals(streamed)) failures.add("stream " + Arrays.toString(ids) + " got " + OracleCases.show(streamed));
        continue;
      }
      checked++;
      String text = c.get("text").asText();
      String shown = OracleCases.show(text);
      int[] actual = tokenizer.encode(text, false);
      if (!Arrays.equals(ids, actual)) {
        failures.add("encode " + shown + ": expected " + Arrays.toString(ids) + " got " + Arrays.toString(actual));
        continue;
      }
      int[] withSpecial = OracleCases.ids(c.get("ids_with_special"));
      if (!Arrays.equals(withSpecial, tokenizer.encode(text, true))) failures.add("encode with BOS " + shown);
      String decoded = c.get("decoded").asText();
      String actualDecoded = tokenizer.decode(withSpecial, true);
      if (!decoded.equals(actualDecoded)) {
        failures.add("decode " + shown + ": expected " + OracleCases.show(decoded) + " got " + OracleCases.show(actualDecoded));
      }
      String streamed = OracleCases.stream(tokenizer, withSpecial, true, failures);
      if (!decoded.equals(streamed)) failures.add("stream " + shown + " got " + OracleCases.show(streamed));
      boolean hasControl = text.contains("<bos>") || text.contains("<eos>") || text.contains("<pad>");
      if (roundTrips && !hasControl && text.indexOf('\u2581') < 0 && !text.equals(decoded)) {
        failures.add("round trip " + shown + " gave " + OracleCases.show(decoded));
      }
    }
    if (checked < 400) failures.add("only " + checked + " texts in " + resource);
    return failures;
  }
}
