package dev.rgemma.model;

import static dev.rgemma.testing.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rgemma.io.Npy;
import dev.rgemma.testing.Fixtures;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every expected array of the official reference's fixtures, f32 and bf16 weights. */
class ReferenceFixtureTest {

  private static int[] inputTokens(Path dir) {
    return Fixtures.ints(Fixtures.expected(dir).get("input_tokens"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-a", "tiny-a/bf16"})
  void fullSequenceForward(String fixture) throws Exception {
    Path dir = Fixtures.dir(fixture);
    int[] tokens = inputTokens(dir);
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(dir)) {
      float[] logits = model.forwardAll(model.newState(), tokens);
      Npy.FloatArray expected = Fixtures.npy(dir, "expected_forward_logits.npy");
      assertArrayEquals(new int[] {tokens.length, model.config().vocabSize()}, expected.shape());
      assertClose(fixture + " forward logits", logits, expected.data());
      int[] argmax = new int[tokens.length];
      for (int t = 0; t < tokens.length; t++) {
        argmax[t] = Fixtures.argmax(logits, t * model.config().vocabSize(), model.config().vocabSize());
      }
      assertArrayEquals(Fixtures.ints(Fixtures.expected(dir).get("forward").get("argmax")), argmax);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-a", "tiny-a/bf16"})
  void tokenByTokenDecode(String fixture) throws Exception {
    Path dir = Fixtures.dir(fixture);
    int[] tokens = inputTokens(dir);
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(dir)) {
      int vocab = model.config().vocabSize();
      ModelState state = model.newState();
      float[] logits = new float[tokens.length * vocab];
      for (int t = 0; t < tokens.length; t++) {
        float[] row = model.forwardLast(state, new int[] {tokens[t]});
        System.arraycopy(row, 0, logits, t * vocab, vocab);
      }
      assertEquals(tokens.length, state.position());
      assertClose(fixture + " decode logits", logits, Fixtures.npy(dir, "expected_decode_logits.npy").data());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-a", "tiny-a/bf16"})
  void prefillThenDecode(String fixture) throws Exception {
    Path dir = Fixtures.dir(fixture);
    int[] tokens = inputTokens(dir);
    int split = Fixtures.expected(dir).get("prefill_split").asInt();
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(dir)) {
      int vocab = model.config().vocabSize();
      ModelState state = model.newState();
      float[] logits = new float[tokens.length * vocab];
      System.arraycopy(model.forwardAll(state, Arrays.copyOf(tokens, split)), 0, logits, 0, split * vocab);
      for (int t = split; t < tokens.length; t++) {
        System.arraycopy(model.forwardLast(state, new int[] {tokens[t]}), 0, logits, t * vocab, vocab);
      }
      assertClose(fixture + " prefill+decode logits", logits,
          Fixtures.npy(dir, "expected_prefill_decode_logits.npy").data());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-a", "tiny-a/bf16"})
  void hiddenStatesAndFinalNorm(String fixture) throws Exception {
    Path dir = Fixtures.dir(fixture);
    int[] tokens = inputTokens(dir);
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(dir)) {
      int d = model.config().hiddenSize();
      int layers = model.config().numLayers();
      float[][] residuals = new float[layers + 1][tokens.length * d];
      float[] finalNorm = new float[tokens.length * d];
      ForwardTrace trace = new ForwardTrace() {
        @Override
        public void residual(int index, int firstToken, float[] x, int count) {
          System.arraycopy(x, 0, residuals[index], firstToken * d, count * d);
        }

        @Override
        public void finalNorm(int firstToken, float[] x, int count) {
          System.arraycopy(x, 0, finalNorm, firstToken * d, count * d);
        }
      };
      model.forward(model.newState(), tokens, 0, tokens.length, true, trace);
      Npy.FloatArray expected = Fixtures.npy(dir, "expected_hidden_states.npy");
      assertArrayEquals(new int[] {layers + 1, tokens.length, d}, expected.shape());
      for (int i = 0; i <= layers; i++) {
        float[] layer = Arrays.copyOfRange(expected.data(), i * tokens.length * d, (i + 1) * tokens.length * d);
        assertClose(fixture + " hidden state " + i, residuals[i], layer);
      }
      assertClose(fixture + " final norm", finalNorm, Fixtures.npy(dir, "expected_final_norm.npy").data());
    }
  }

  /** The official sampler: prefill prompt[:-1], then the last prompt token, then argmax feedback. */
  @ParameterizedTest
  @ValueSource(strings = {"tiny-a", "tiny-a/bf16"})
  void greedyGeneration(String fixture) throws Exception {
    Path dir = Fixtures.dir(fixture);
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(dir)) {
      int vocab = model.config().vocabSize();
      for (JsonNode run : Fixtures.expected(dir).get("greedy")) {
        int[] prompt = Fixtures.ints(run.get("prompt"));
        int[] expectedTokens = Fixtures.ints(run.get("generated"));
        ModelState state = model.newState();
        model.forwardAll(state, Arrays.copyOf(prompt, prompt.length - 1));
        int next = prompt[prompt.length - 1];
        int steps = run.get("steps").asInt();
        int[] generated = new int[steps];
        float[] logits = new float[steps * vocab];
        for (int s = 0; s < steps; s++) {
          float[] row = model.forwardLast(state, new int[] {next});
          System.arraycopy(row, 0, logits, s * vocab, vocab);
          next = Fixtures.argmax(row, 0, vocab);
          generated[s] = next;
        }
        String file = run.get("logits_file").asText();
        assertArrayEquals(expectedTokens, generated, fixture + " " + file + " greedy tokens");
        assertClose(fixture + " " + file, logits, Fixtures.npy(dir, file).data());
      }
    }
  }
}
