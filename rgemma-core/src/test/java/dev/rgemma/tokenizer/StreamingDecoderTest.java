package dev.rgemma.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {

  @Test
  void holdsBackACharacterUntilItsLastByte() {
    Tokenizer tokenizer = TokenizerFiles.tokenizer(TokenizerFiles.GEMMA3);
    String text = "a\uDB80\uDC00b"; // U+F0000, a private-use character that needs four byte pieces
    int[] ids = tokenizer.encode(text, false);
    List<String> chunks = new ArrayList<>();
    StreamingDecoder decoder = tokenizer.newStreamingDecoder(true);
    for (int id : ids) chunks.add(decoder.accept(id));
    chunks.add(decoder.flush());
    assertEquals(List.of("a", "", "", "", "\uDB80\uDC00", "b", ""), chunks);
  }

  @Test
  void anIncompleteCharacterAtTheEndBecomesOneReplacementCharacter() {
    Tokenizer tokenizer = TokenizerFiles.tokenizer(TokenizerFiles.GEMMA3);
    StreamingDecoder decoder = tokenizer.newStreamingDecoder(true);
    assertEquals("", decoder.accept(tokenizer.tokenId("<0xF0>").orElseThrow()));
    assertEquals("", decoder.accept(tokenizer.tokenId("<0x9F>").orElseThrow()));
    assertEquals("\uFFFD", decoder.flush());
  }

  /** Random token sequences, including special and byte tokens: streaming equals decode. */
  @Test
  void streamingEqualsDecodeOnRandomIds() {
    Random random = new Random(42);
    for (Tokenizer tokenizer :
        List.of(TokenizerFiles.tokenizer(TokenizerFiles.GEMMA3), TokenizerFiles.tokenizer(TokenizerFiles.LLAMA2))) {
      int byteBase = tokenizer.tokenId("<0x00>").orElseThrow();
      for (int round = 0; round < 300; round++) {
        int[] ids = new int[1 + random.nextInt(20)];
        for (int i = 0; i < ids.length; i++) {
          ids[i] = switch (random.nextInt(3)) {
            case 0 -> byteBase + random.nextInt(256);
            case 1 -> random.nextInt(Math.min(300, tokenizer.vocabSize()));
            default -> random.nextInt(tokenizer.vocabSize() - 1);
          };
        }
        for (boolean skip : new boolean[] {true, false}) {
          List<String> failures = new ArrayList<>();
          String streamed = OracleCases.stream(tokenizer, ids, skip, failures);
          assertTrue(failures.isEmpty(), failures.toString());
          assertEquals(tokenizer.decode(ids, skip), streamed, java.util.Arrays.toString(ids));
        }
      }
    }
  }
}
