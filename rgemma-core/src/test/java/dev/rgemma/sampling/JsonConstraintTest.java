package dev.rgemma.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class JsonConstraintTest {
  /** Tokens 0-255 are the single bytes, 256 the stop token. */
  static final int STOP = 256;

  static byte[][] singleBytes() {
    byte[][] tokens = new byte[STOP + 1][];
    for (int b = 0; b < 256; b++) {
      tokens[b] = new byte[] {(byte) b};
    }
    tokens[STOP] = new byte[0];
    return tokens;
  }

  /** The index of the first byte of {@code text} the constraint refuses, or -1 if it takes them all. */
  static int firstRefused(String text, JsonConstraint json) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i++) {
      float[] logits = new float[STOP + 1];
      json.mask(logits);
      if (logits[bytes[i] & 0xFF] == Float.NEGATIVE_INFINITY) {
        return i;
      }
      json.accept(bytes[i] & 0xFF);
    }
    return -1;
  }

  @Test
  void validObjectsPassByteByByteAndThenOnlyTheStopTokenRemains() {
    List<String> valid = List.of(
        "{}",
        " {\"a\": 1}",
        "{\"a\":[1,-2.5e+3,0,0.25,1E9,true,false,null,\"x\"],\"b\":{\"c\":{}},\"d\":[]}",
        "{\n  \"name\": \"caf\u00E9 \u4F60\u597D \uD83E\uDD80\",\n  \"esc\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"\n}",
        "{\"deep\":[[[[{\"x\":[0]}]]]], \"e\": -0.0e-0}");
    for (String text : valid) {
      JsonConstraint json = new JsonConstraint(singleBytes(), Set.of(STOP));
      assertEquals(-1, firstRefused(text, json), text);
      assertTrue(json.complete(), text);
      float[] logits = new float[STOP + 1];
      assertEquals(1, json.mask(logits), text);
      assertTrue(Float.isFinite(logits[STOP]));
    }
  }

  @Test
  void invalidTextIsRefusedAtItsFirstWrongByte() {
    String[][] cases = {
      {"[1]", "0"}, // the top level must be an object
      {"{\"a\":01}", "6"}, // no leading zeros
      {"{\"a\" 1}", "5"},
      {"{,}", "1"},
      {"{\"a\":1,}", "7"},
      {"{\"a\":tru}", "8"},
      {"{\"a\":\"\\x\"}", "7"},
      {"{\"a\":\"\t\"}", "6"}, // an unescaped control character
      {"{\"a\":1]", "6"},
      {"{\"a\":[1}", "7"},
      {"{\"a\":-}", "6"},
      {"{\"a\":1.}", "7"},
      {"{\"a\":\"\\u12G4\"}", "10"},
      {"{} x", "2"}, // after the object, only the stop token (no trailing whitespace)
      {"{\u00E9}", "1"}, // bytes above 0x7F only inside strings
      {"{\"a\":\"\u00E9\u00E9\"}", "-1"}, // well-formed UTF-8 inside strings passes
    };
    for (String[] c : cases) {
      JsonConstraint json = new JsonConstraint(singleBytes(), Set.of(STOP));
      assertEquals(Integer.parseInt(c[1]), firstRefused(c[0], json), c[0]);
    }
    // Ill-formed UTF-8 inside a string: a lone continuation byte, a lead byte without its
    // continuation, a byte that never starts a character, a quote before the character ends.
    int[][] bytes = {{0x80}, {0xC3, 0x41}, {0xFF}, {0xE2, 0x82, '"'}};
    int[] refusedAt = {5, 6, 5, 7};
    for (int k = 0; k < bytes.length; k++) {
      JsonConstraint json = new JsonConstraint(singleBytes(), Set.of(STOP));
      assertEquals(-1, firstRefused("{\"a\":\"", json));
      int refused = -1;
      for (int i = 0; i < bytes[k].length && refused < 0; i++) {
        float[] logits = new float[STOP + 1];
        json.mask(logits);
        if (logits[bytes[k][i]] == Float.NEGATIVE_INFINITY) {
          refused = 5 + i;
        } else {
          json.accept(bytes[k][i]);
        }
      }
      assertEquals(refusedAt[k], refused, java.util.Arrays.toString(bytes[k]));
    }
  }

  @Test
  void theStopTokenWaitsForTheObjectToClose() {
    JsonConstraint json = new JsonConstraint(singleBytes(), Set.of(STOP));
    for (String part : List.of("{", "\"a\"", ":", "[", "1", "]")) {
      assertEquals(-1, firstRefused(part, json));
      float[] logits = new float[STOP + 1];
      json.mask(logits);
      assertEquals(Float.NEGATIVE_INFINITY, logits[STOP], "after " + part);
    }
    assertEquals(-1, firstRefused("}", json));
    assertTrue(json.complete());
  }

  /** Whitespace between tokens: one space, or a newline and at most MAX_INDENT spaces or tabs. */
  @Test
  void whitespaceAndNestingAreBounded() {
    String[][] cases = {
      {"{  \"a\": 1}", "2"},
      {"{\n\n\"a\": 1}", "2"},
      {"{ \n\"a\": 1}", "2"},
      {"{\r\n\"a\": 1}", "1"},
      {"{\"a\": 1 \n}", "8"},
      {"{\"a\":\n" + " ".repeat(JsonConstraint.MAX_INDENT + 1) + "1}", String.valueOf(6 + JsonConstraint.MAX_INDENT)},
    };
    for (String[] c : cases) {
      assertEquals(Integer.parseInt(c[1]), firstRefused(c[0], new JsonConstraint(singleBytes(), Set.of(STOP))), c[0]);
    }
    assertEquals(-1, firstRefused("{\"a\":\n" + "\t".repeat(JsonConstraint.MAX_INDENT) + "1 ,\n \"b\" : [ 2 ]\n}",
        new JsonConstraint(singleBytes(), Set.of(STOP))));
    JsonConstraint json = new JsonConstraint(singleBytes(), Set.of(STOP));
    String open = "{\"a\":" + "[".repeat(JsonConstraint.MAX_DEPTH);
    assertEquals(5 + JsonConstraint.MAX_DEPTH - 1, firstRefused(open, json));
  }

  /**
   * JSON mode without a schema, at the depth limit: no container opens, but any other value and
   * the closing bracket still may, so the answer goes on as valid JSON (and can end with "stop")
   * instead of running out of tokens there.
   */
  @Test
  void atTheDepthLimitOnlyContainersAreRefused() {
    int max = JsonConstraint.MAX_DEPTH;
    String arrays = "{\"a\":" + "[".repeat(max - 1);
    String objects = "{\"a\":".repeat(max);
    for (String value : List.of("1", "\"s\"", "true", "null", "-2.5")) {
      for (String open : List.of(arrays, objects)) {
        JsonConstraint json = new JsonConstraint(singleBytes(), Set.of(STOP));
        assertEquals(-1, firstRefused(open, json));
        float[] logits = new float[STOP + 1];
        json.mask(logits);
        assertEquals(Float.NEGATIVE_INFINITY, logits['['], "an array beyond the limit");
        assertEquals(Float.NEGATIVE_INFINITY, logits['{'], "an object beyond the limit");
        assertTrue(Float.isFinite(logits[value.charAt(0)]), value);
        String rest = open == arrays ? value + ",0" + "]".repeat(max - 1) + "}" : value + "}".repeat(max);
        assertEquals(-1, firstRefused(rest, json), open + rest);
        assertTrue(json.complete(), open + rest);
      }
    }
  }

  /**
   * Seeded random walks over a vocabulary of multi-byte JSON-ish pieces: every step leaves some
   * token, and every walk that ends (the stop token chosen) is one object Jackson parses.
   */
  @Test
  void randomWalksEndInObjectsThatParse() throws Exception {
    SplittableRandom random = new SplittableRandom(17);
    byte[][] vocab = walkVocabulary(random, "{}[]\":,0123456789-+.eEtrufalsn \n\\\u00E9ab", 5,
        List.of("true", "false", "null", "\": ", "\", \"", "}, {", "[]", "{}"));
    int stop = vocab.length - 1;
    ObjectMapper mapper = new ObjectMapper();
    int ended = walks(vocab, () -> new JsonConstraint(vocab, Set.of(stop)), random, 0,
        text -> assertTrue(mapper.readTree(text).isObject(), new String(text, StandardCharsets.UTF_8)));
    assertTrue(ended > 200, "only " + ended + " of 300 walks closed their object");
    assertFalse(new JsonConstraint(vocab, Set.of(stop)).complete());
  }

  /**
   * A vocabulary for random walks: the 256 single bytes, 2000 seeded pieces of 1 to {@code
   * longest} characters of {@code alphabet}, {@code words}, and last an empty stop token.
   */
  static byte[][] walkVocabulary(SplittableRandom random, String alphabet, int longest, List<String> words) {
    List<byte[]> pieces = new ArrayList<>(Arrays.asList(singleBytes()).subList(0, 256));
    for (int i = 0; i < 2000; i++) {
      StringBuilder piece = new StringBuilder();
      for (int k = 1 + random.nextInt(longest); k > 0; k--) {
        piece.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      pieces.add(piece.toString().getBytes(StandardCharsets.UTF_8));
    }
    for (String word : words) {
      pieces.add(word.getBytes(StandardCharsets.UTF_8));
    }
    pieces.add(new byte[0]);
    return pieces.toArray(new byte[0][]);
  }

  /** What a finished walk's text must satisfy. */
  @FunctionalInterface
  interface WalkCheck {
    void check(byte[] text) throws Exception;
  }

  /**
   * 300 seeded walks of up to 600 tokens over {@code vocab} (its last token the stop token), each
   * with a fresh constraint: random logits that lean towards the stop token and the closing brackets
   * (more so the longer a walk runs), and {@code quoteBoost} towards the quote, masked, the best one
   * taken. Each step must leave a token; the text of each walk that takes the stop token is {@code
   * check}ed. Returns how many walks ended.
   */
  static int walks(byte[][] vocab, java.util.function.Supplier<JsonConstraint> constraint, SplittableRandom random,
      float quoteBoost, WalkCheck check) throws Exception {
    int stop = vocab.length - 1;
    int ended = 0;
    for (int walk = 0; walk < 300; walk++) {
      JsonConstraint json = constraint.get();
      ByteArrayOutputStream text = new ByteArrayOutputStream();
      for (int step = 0; step < 600; step++) {
        float[] logits = new float[vocab.length];
        for (int i = 0; i < logits.length; i++) {
          logits[i] = (float) random.nextDouble();
        }
        logits[stop] += 10;
        logits['}'] += 2 + step / 50f;
        logits[']'] += 2 + step / 50f;
        logits['"'] += quoteBoost;
        assertTrue(json.mask(logits) > 0, "no token left after " + text);
        int best = Sampler.argmax(logits);
        if (best == stop) {
          check.check(text.toByteArray());
          ended++;
          break;
        }
        json.accept(best);
        text.writeBytes(vocab[best]);
      }
    }
    return ended;
  }
}
