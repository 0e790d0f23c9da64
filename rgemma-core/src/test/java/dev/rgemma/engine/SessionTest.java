package dev.rgemma.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.testing.FakeCodec;
import dev.rgemma.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Generation on the tiny fixture model: greedy against the reference, stop conditions, listeners. */
class SessionTest {
  private static RecurrentGemmaModel model;
  private static JsonNode expected;

  @BeforeAll
  static void load() throws Exception {
    Path dir = Fixtures.dir("tiny-a");
    model = RecurrentGemmaModel.load(dir);
    expected = Fixtures.expected(dir);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** Collects what a listener sees. */
  static final class Recorder implements GenerationListener {
    final List<float[]> logits = new ArrayList<>();
    final List<Integer> tokens = new ArrayList<>();
    final StringBuilder text = new StringBuilder();

    @Override
    public void onLogits(float[] row) {
      logits.add(row.clone());
    }

    @Override
    public void onToken(int tokenId) {
      tokens.add(tokenId);
    }

    @Override
    public void onText(String piece) {
      assertTrue(!piece.isEmpty(), "empty text is not reported");
      text.append(piece);
    }

    float[] allLogits() {
      int vocab = logits.getFirst().length;
      float[] out = new float[logits.size() * vocab];
      for (int i = 0; i < logits.size(); i++) {
        System.arraycopy(logits.get(i), 0, out, i * vocab, vocab);
      }
      return out;
    }
  }

  @Test
  void greedyGenerationMatchesTheReference() {
    for (JsonNode run : expected.get("greedy")) {
      int[] prompt = Fixtures.ints(run.get("prompt"));
      Session session = new Session(model, null, SamplerSettings.greedy());
      Recorder recorder = new Recorder();
      GenerationResult result = session.generate(prompt, GenerationOptions.maxTokens(20), recorder);
      assertArrayEquals(Fixtures.ints(run.get("generated")), result.tokens());
      assertEquals(StopReason.MAX_TOKENS, result.stopReason());
      assertEquals(prompt.length, result.promptTokens());
      assertEquals(19, result.decodeSteps(), "the last token is sampled but not fed");
      assertEquals(prompt.length + 19, result.position());
      assertEquals(result.tokens()[19], session.pendingToken().orElseThrow());
      assertEquals(List.of(boxed(result.tokens())), List.of(recorder.tokens.toArray()));
      Fixtures.assertClose(run.get("logits_file").asText(), recorder.allLogits(),
          Fixtures.npy(Fixtures.dir("tiny-a"), run.get("logits_file").asText()).data());
    }
  }

  private static Integer[] boxed(int[] values) {
    return java.util.Arrays.stream(values).boxed().toArray(Integer[]::new);
  }

  private static int[] greedyPrompt() {
    return Fixtures.ints(expected.get("greedy").get(0).get("prompt"));
  }

  @Test
  void stopStringsMatchAcrossTokensAndAreNeverEmitted() {
    // greedy continuation of prompt 0: 61, 173, 173, 173, 28, ... = "<61><173><173><173><28>..."
    Session session = new Session(model, FakeCodec.plain(), SamplerSettings.greedy());
    Recorder recorder = new Recorder();
    GenerationResult result = session.generate(greedyPrompt(),
        new GenerationOptions(20, List.of("xyz", "173><17"), false), recorder);
    assertEquals(StopReason.STOP_STRING, result.stopReason());
    assertArrayEquals(new int[] {61, 173, 173}, result.tokens());
    assertEquals("<61><", result.text());
    assertEquals("<61><", recorder.text.toString());
  }

  @Test
  void textWithoutAStopMatchIsEmittedCompletely() {
    Session session = new Session(model, FakeCodec.plain(), SamplerSettings.greedy());
    Recorder recorder = new Recorder();
    GenerationResult result = session.generate(greedyPrompt(),
        new GenerationOptions(5, List.of("<28><9"), false), recorder);
    assertEquals(StopReason.MAX_TOKENS, result.stopReason());
    assertEquals("<61><173><173><173><28>", result.text(), "the held-back '<28>' comes out at the end");
    assertEquals(result.text(), recorder.text.toString());
  }

  @Test
  void endOfTurnStopsAndIsDropped() {
    // a vocabulary where the model's second greedy token, 173, is <end_of_turn>
    FakeCodec codec = new FakeCodec(java.util.Map.of("<bos>", 2, "<end_of_turn>", 173));
    Session session = new Session(model, codec, SamplerSettings.greedy());
    GenerationResult result = session.generate(greedyPrompt(), GenerationOptions.maxTokens(20), GenerationListener.NONE);
    assertEquals(StopReason.END_OF_TURN, result.stopReason());
    assertArrayEquals(new int[] {61}, result.tokens());
    assertEquals(greedyPrompt().length + 1, session.position(), "61 was fed to get the logits that chose 173");
    assertTrue(session.pendingToken().isEmpty(), "the stop token is dropped");
    var e = assertThrows(IllegalArgumentException.class,
        () -> session.generate(new int[0], GenerationOptions.maxTokens(5), GenerationListener.NONE));
    assertTrue(e.getMessage().contains("stop token"), e.getMessage());

    GenerationResult ignoring = new Session(model, codec, SamplerSettings.greedy())
        .generate(greedyPrompt(), new GenerationOptions(4, List.of(), true), GenerationListener.NONE);
    assertArrayEquals(new int[] {61, 173, 173, 173}, ignoring.tokens());
  }

  @Test
  void cancellingStopsBeforeTheNextToken() {
    Session session = new Session(model, null, SamplerSettings.greedy());
    GenerationResult result = session.generate(greedyPrompt(), GenerationOptions.maxTokens(20),
        new GenerationListener() {
          int seen;

          @Override
          public void onToken(int tokenId) {
            seen++;
          }

          @Override
          public boolean cancelled() {
            return seen == 3;
          }
        });
    assertEquals(StopReason.CANCELLED, result.stopReason());
    assertArrayEquals(new int[] {61, 173, 173}, result.tokens());
    // continuing feeds the pending token and goes on exactly as if never cancelled
    GenerationResult rest = session.generate(new int[0], GenerationOptions.maxTokens(3), GenerationListener.NONE);
    assertArrayEquals(new int[] {173, 28, 7}, rest.tokens());
    assertEquals(1, rest.promptTokens());
  }

  @Test
  void maxTokensZeroReadsThePromptAndALaterCallGeneratesFromIt() {
    Session session = new Session(model, null, SamplerSettings.greedy());
    int[] prompt = greedyPrompt();
    GenerationResult primed = session.generate(prompt, GenerationOptions.maxTokens(0), GenerationListener.NONE);
    assertEquals(0, primed.generatedTokens());
    assertEquals(prompt.length - 1, session.position(), "the last prompt token waits for the next call");
    assertEquals(prompt[prompt.length - 1], session.pendingToken().orElseThrow());
    GenerationResult later = session.generate(new int[0], GenerationOptions.maxTokens(4), GenerationListener.NONE);
    assertArrayEquals(new int[] {61, 173, 173, 173}, later.tokens());
    assertThrows(IllegalArgumentException.class,
        () -> new Session(model, null, SamplerSettings.greedy())
            .generate(new int[0], GenerationOptions.maxTokens(3), GenerationListener.NONE));
  }

  @Test
  void stopStringsNeedATokenizer() {
    Session session = new Session(model, null, SamplerSettings.greedy());
    var e = assertThrows(IllegalArgumentException.class, () -> session.generate(greedyPrompt(),
        new GenerationOptions(3, List.of("x"), false), GenerationListener.NONE));
    assertTrue(e.getMessage().contains("tokenizer"), e.getMessage());
  }
}
