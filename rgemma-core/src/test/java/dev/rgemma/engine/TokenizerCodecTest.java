package dev.rgemma.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.testing.Fixtures;
import dev.rgemma.testing.TinyTokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine's adapter over the real tokenizer, on a hand-made 320-token vocabulary. */
class TokenizerCodecTest {
  @TempDir Path dir;

  private TextCodec codec() throws Exception {
    TinyTokenizer.write(dir.resolve("tokenizer.json"));
    return TokenizerCodec.forModel(dir, TinyTokenizer.VOCAB).orElseThrow();
  }

  @Test
  void encodesWithOneBosAndFindsTheTurnMarkers() throws Exception {
    TextCodec codec = codec();
    int[] plain = codec.encode("the", true);
    assertEquals(TinyTokenizer.BOS, plain[0]);
    int[] rendered = codec.encode(codec.renderChat(List.of(new TextCodec.Message("user", "hi")), true), true);
    assertEquals(TinyTokenizer.BOS, rendered[0]);
    assertEquals(TinyTokenizer.START_OF_TURN, rendered[1], "the template's <bos> is not doubled");
    assertEquals(TinyTokenizer.END_OF_TURN, codec.specialToken("<end_of_turn>").getAsInt());
    assertTrue(codec.isChatModel());
  }

  @Test
  void chatDefaultFollowsTheTokenizerConfigsChatTemplate() throws Exception {
    TinyTokenizer.write(dir.resolve("tokenizer.json"));
    java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"), "{\"add_bos_token\": true}");
    assertEquals(false, TokenizerCodec.forModel(dir, TinyTokenizer.VOCAB).orElseThrow().isChatModel(),
        "turn markers but no chat_template: a base model");
    java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"{{ bos_token }}\"}");
    assertTrue(TokenizerCodec.forModel(dir, TinyTokenizer.VOCAB).orElseThrow().isChatModel());
    java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": ");
    org.junit.jupiter.api.Assertions.assertThrows(dev.rgemma.RgemmaException.class,
        () -> TokenizerCodec.forModel(dir, TinyTokenizer.VOCAB));
  }

  @Test
  void streamsTextAndSkipsSpecialTokens() throws Exception {
    TextCodec codec = codec();
    int[] ids = codec.encode("the Ünïcode", false);
    TextCodec.TextStream stream = codec.newTextStream();
    StringBuilder text = new StringBuilder(stream.accept(TinyTokenizer.START_OF_TURN));
    for (int id : ids) {
      text.append(stream.accept(id));
    }
    text.append(stream.flush());
    assertEquals("the Ünïcode", text.toString());
    assertArrayEquals(ids, codec.encode("the Ünïcode", false));
  }

  @Test
  void streamedTextIsTheDecodedGeneration() throws Exception {
    TinyTokenizer.write(dir.resolve("tokenizer.json"));
    TokenizerCodec codec = (TokenizerCodec) TokenizerCodec.forModel(dir, TinyTokenizer.VOCAB).orElseThrow();
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(Fixtures.dir("tiny-a"))) {
      Session session = new Session(model, codec, SamplerSettings.defaults().withSeed(11));
      StringBuilder streamed = new StringBuilder();
      GenerationResult result = session.generate(codec.encode("the thin hen", true),
          new GenerationOptions(60, List.of(), true), new GenerationListener() {
            @Override
            public void onText(String text) {
              streamed.append(text);
            }
          });
      assertEquals(60, result.generatedTokens());
      assertEquals(codec.tokenizer().decode(result.tokens(), true), result.text());
      assertEquals(result.text(), streamed.toString());
    }
  }

  @Test
  void noTokenizerFileMeansNoCodec() throws Exception {
    assertTrue(TokenizerCodec.forModel(dir, 320).isEmpty());
  }
}
