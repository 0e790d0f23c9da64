package dev.rgemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Tokenizer#tokenBytes}: the bytes of the tokens after the first, concatenated, are the
 * UTF-8 of the decoded text after the first token's, for every tokenizer format and decoder chain.
 */
class TokenBytesTest {
  private static final List<String> TEXTS = List.of(
      "Hello world, this is a test.",
      "  two  leading spaces and  inner ones  ",
      "emoji \uD83E\uDD80 and \u4F60\u597D, caf\u00E9",
      "a\uDB80\uDC00b private use in byte pieces",
      "tabs\tand\nnew lines\n\n",
      "1234567890 + 0.5 = ?");

  @Test
  void sentencePieceModels() throws Exception {
    for (String name : List.of("gemma-like.model", "defaults.model")) {
      Tokenizer tokenizer = Tokenizer.load(Path.of(getClass().getResource("/tokenizer/" + name).toURI()));
      assertConsistent(tokenizer, name);
    }
  }

  @Test
  void tokenizerJsonFiles() {
    assertConsistent(TokenizerFiles.tokenizer(TokenizerFiles.GEMMA), "gemma tokenizer.json");
    assertConsistent(TokenizerFiles.tokenizer(TokenizerFiles.LLAMA2), "llama2 tokenizer.json");
  }

  /** A Metaspace decoder drops the first token's space only: a token later keeps it. */
  @Test
  void metaspaceDecoderKeepsTheSpaceOfLaterTokens(@TempDir Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = (ObjectNode) json.readTree(TokenizerFiles.file(TokenizerFiles.LLAMA2).toFile());
    root.set("decoder", json.readTree(
        "{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"add_prefix_space\":true,"
            + "\"prepend_scheme\":\"first\",\"split\":false}"));
    Path file = dir.resolve("tokenizer.json");
    json.writeValue(file.toFile(), root);
    Tokenizer tokenizer = Tokenizer.load(file);
    int hello = tokenizer.tokenId("\u2581Hello").orElseThrow();
    assertEquals("Hello", tokenizer.decode(new int[] {hello}, true));
    assertArrayEquals(" Hello".getBytes(StandardCharsets.UTF_8), tokenizer.tokenBytes(hello));
    assertConsistent(tokenizer, "llama2 with a Metaspace decoder");
  }

  @Test
  void bytePiecesGiveTheirByteAndSpecialTokensNothing() {
    Tokenizer tokenizer = TokenizerFiles.tokenizer(TokenizerFiles.GEMMA);
    assertArrayEquals(new byte[] {(byte) 0xE2}, tokenizer.tokenBytes(tokenizer.tokenId("<0xE2>").orElseThrow()));
    assertArrayEquals(new byte[0], tokenizer.tokenBytes(tokenizer.bosId()));
    assertArrayEquals(new byte[0], tokenizer.tokenBytes(tokenizer.tokenId("<end_of_turn>").orElseThrow()));
  }

  private static void assertConsistent(Tokenizer tokenizer, String name) {
    List<String> failures = new ArrayList<>();
    for (String text : TEXTS) {
      int[] ids = tokenizer.encode("x" + text, false);
      String whole = tokenizer.decode(ids, true);
      String first = tokenizer.decode(new int[] {ids[0]}, true);
      assertTrue(whole.startsWith(first), name + ": " + whole + " does not start with " + first);
      ByteArrayOutputStream rest = new ByteArrayOutputStream();
      for (int i = 1; i < ids.length; i++) {
        rest.writeBytes(tokenizer.tokenBytes(ids[i]));
      }
      String expected = whole.substring(first.length());
      String actual = rest.toString(StandardCharsets.UTF_8);
      if (!expected.equals(actual)) {
        failures.add(text + ": expected \"" + expected + "\", got \"" + actual + "\" from " + Arrays.toString(ids));
      }
    }
    assertTrue(failures.isEmpty(), name + ": " + failures);
  }
}
