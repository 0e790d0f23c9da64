package dev.rgemma.model;

import static dev.rgemma.testing.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rgemma.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Model shapes beyond the fixture (other widths, head counts, windows, layer counts not divisible
 * by 3, block patterns): the engine against an independent float64 full-sequence implementation,
 * and chunk invariance on seeded random chunkings across the window boundary.
 */
class ModelShapesTest {

  static ModelConfig config(int vocab, int hidden, int heads, int lru, int mlp, int window, int layers,
      List<BlockType> pattern, float softCap) {
    List<BlockType> types = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      types.add(pattern.get(i % pattern.size()));
    }
    return new ModelConfig(vocab, hidden, mlp, heads, hidden / heads, lru, window, 4, types, softCap,
        1e-6f, 10000f, 0.5f, true, 2, 1, 0);
  }

  static final List<BlockType> GRIFFIN = List.of(BlockType.RECURRENT, BlockType.RECURRENT, BlockType.ATTENTION);

  static Stream<Arguments> shapes() {
    return Stream.of(
        Arguments.of("4 layers, window 5", config(97, 32, 2, 48, 40, 5, 4, GRIFFIN, 30f)),
        Arguments.of("5 layers, 8 heads hd 8, window 3", config(64, 64, 8, 64, 96, 3, 5, GRIFFIN, 30f)),
        Arguments.of("attention first, window 16, no soft-cap", config(50, 24, 3, 36, 24, 16, 3,
            List.of(BlockType.ATTENTION, BlockType.RECURRENT), 0f)),
        Arguments.of("1 head, window 1", config(40, 16, 1, 20, 32, 1, 7, GRIFFIN, 30f)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("shapes")
  void matchesIndependentFloat64Implementation(String name, ModelConfig config) {
    SplittableRandom random = new SplittableRandom(name.hashCode());
    int[] tokens = random.ints(3 * config.attentionWindowSize() + 7, 0, config.vocabSize()).toArray();
    try (SyntheticCheckpoint source = new SyntheticCheckpoint(config, 42, DType.F32);
        RecurrentGemmaModel model = RecurrentGemmaModel.fromSource(source)) {
      double[][] expected = new NaiveReference(source).forward(tokens);
      float[] flat = new float[tokens.length * config.vocabSize()];
      for (int t = 0; t < tokens.length; t++) {
        for (int j = 0; j < config.vocabSize(); j++) {
          flat[t * config.vocabSize() + j] = (float) expected[t][j];
        }
      }
      assertClose(name + " full sequence", model.forwardAll(model.newState(), tokens), flat);
      ModelState state = model.newState();
      float[] decoded = new float[flat.length];
      for (int t = 0; t < tokens.length; t++) {
        System.arraycopy(model.forwardLast(state, new int[] {tokens[t]}), 0, decoded,
            t * config.vocabSize(), config.vocabSize());
      }
      assertClose(name + " token by token", decoded, flat);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("shapes")
  void anyChunkingGivesTheSameLogits(String name, ModelConfig config) {
    SplittableRandom random = new SplittableRandom(7 + name.hashCode());
    int window = config.attentionWindowSize();
    int[] tokens = random.ints(4 * window + 11, 0, config.vocabSize()).toArray();
    try (SyntheticCheckpoint source = new SyntheticCheckpoint(config, 3, DType.BF16);
        RecurrentGemmaModel model = RecurrentGemmaModel.fromSource(source)) {
      int vocab = config.vocabSize();
      float[] reference = model.forwardAll(model.newState(), tokens);
      for (int trial = 0; trial < 6; trial++) {
        ModelState state = model.newState();
        float[] logits = new float[reference.length];
        List<Integer> chunks = new ArrayList<>();
        for (int start = 0; start < tokens.length; ) {
          // Chunk lengths from 1 to beyond the window, so chunks straddle and exceed it.
          int length = Math.min(tokens.length - start, 1 + random.nextInt(2 * window + 2));
          float[] part = model.forward(state, tokens, start, length, true, null);
          System.arraycopy(part, 0, logits, start * vocab, part.length);
          chunks.add(length);
          start += length;
        }
        assertEquals(tokens.length, state.position());
        assertClose(name + " chunks " + chunks, logits, reference);
      }
    }
  }

  @Test
  void stateSizeDoesNotDependOnPosition() {
    ModelConfig config = config(40, 16, 2, 20, 32, 4, 3, GRIFFIN, 30f);
    try (SyntheticCheckpoint source = new SyntheticCheckpoint(config, 1, DType.F32);
        RecurrentGemmaModel model = RecurrentGemmaModel.fromSource(source)) {
      ModelState state = model.newState();
      long initial = state.sizeBytes();
      int[] tokens = new SplittableRandom(5).ints(300, 0, 40).toArray();
      model.forwardAll(state, tokens);
      assertEquals(initial, state.sizeBytes());
      // Two recurrent layers (conv window and h); one attention layer of window 4 and head
      // dimension 8, stored by groups of 16 columns: keys 1 group x 8 x 16, values 1 x 4 x 16.
      assertEquals((3 * 20 + 20) * 4L * 2 + (16 * 8 + 16 * 4) * 4L, initial);
    }
  }

  @Test
  void lastLogitsEqualLastRowOfAllLogits() {
    ModelConfig config = config(40, 16, 2, 20, 32, 4, 3, GRIFFIN, 30f);
    try (SyntheticCheckpoint source = new SyntheticCheckpoint(config, 9, DType.F16);
        RecurrentGemmaModel model = RecurrentGemmaModel.fromSource(source)) {
      int[] tokens = new SplittableRandom(2).ints(600, 0, 40).toArray(); // > one internal sub-chunk
      float[] all = model.forwardAll(model.newState(), tokens);
      float[] last = model.forwardLast(model.newState(), tokens);
      float[] expected = java.util.Arrays.copyOfRange(all, all.length - 40, all.length);
      assertArrayEquals(expected, last);
    }
  }

  @Test
  void batchedSequencesMatchRunningEachAlone() {
    ModelConfig config = config(60, 32, 4, 40, 48, 6, 5, GRIFFIN, 30f);
    SplittableRandom random = new SplittableRandom(11);
    try (SyntheticCheckpoint source = new SyntheticCheckpoint(config, 4, DType.F32);
        RecurrentGemmaModel model = RecurrentGemmaModel.fromSource(source)) {
      int sequences = 5;
      List<ModelState> alone = new ArrayList<>();
      List<ModelState> batched = new ArrayList<>();
      for (int i = 0; i < sequences; i++) {
        alone.add(model.newState());
        batched.add(model.newState());
      }
      for (int step = 0; step < 12; step++) {
        List<int[]> tokens = new ArrayList<>();
        for (int i = 0; i < sequences; i++) {
          // A mix of prefill chunks (some longer than the window) and single-token decode steps.
          int length = step % 4 == i % 4 ? 1 + random.nextInt(9) : 1;
          tokens.add(random.ints(length, 0, config.vocabSize()).toArray());
        }
        List<float[]> got = model.forwardBatch(batched, tokens);
        for (int i = 0; i < sequences; i++) {
          float[] expected = model.forwardLast(alone.get(i), tokens.get(i));
          assertClose("step " + step + " sequence " + i, got.get(i), expected);
          assertEquals(alone.get(i).position(), batched.get(i).position());
        }
      }
    }
  }

  /** Sequences that ask for every row's logits get those of running alone with forwardAll. */
  @Test
  void batchedSequencesCanHaveEveryRowsLogits() {
    ModelConfig config = config(60, 32, 4, 40, 48, 6, 5, GRIFFIN, 30f);
    SplittableRandom random = new SplittableRandom(12);
    try (SyntheticCheckpoint source = new SyntheticCheckpoint(config, 4, DType.F32);
        RecurrentGemmaModel model = RecurrentGemmaModel.fromSource(source)) {
      int sequences = 3;
      List<ModelState> alone = new ArrayList<>();
      List<ModelState> batched = new ArrayList<>();
      for (int i = 0; i < sequences; i++) {
        alone.add(model.newState());
        batched.add(model.newState());
      }
      for (int step = 0; step < 4; step++) {
        List<int[]> tokens = new ArrayList<>();
        boolean[] all = new boolean[sequences];
        for (int i = 0; i < sequences; i++) {
          tokens.add(random.ints(1 + random.nextInt(7), 0, config.vocabSize()).toArray());
          all[i] = (step + i) % 2 == 0;
        }
        List<float[]> got = model.forwardBatch(batched, tokens, all);
        for (int i = 0; i < sequences; i++) {
          float[] expected = all[i] ? model.forwardAll(alone.get(i), tokens.get(i))
              : model.forwardLast(alone.get(i), tokens.get(i));
          assertEquals(expected.length, got.get(i).length, "step " + step + " sequence " + i);
          assertClose("step " + step + " sequence " + i, got.get(i), expected);
        }
      }
    }
  }
}
