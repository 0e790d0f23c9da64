package dev.rgemma.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.tensor.DType;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint written by the trainer loads in the inference model, which gives the same logits as
 * the training forward pass (across the attention window, with every tensor non-trivial).
 */
class InferenceRoundTripTest {
  private static WorkerPool pool;

  @BeforeAll
  static void startPool() {
    pool = new WorkerPool(2);
  }

  @AfterAll
  static void stopPool() {
    pool.close();
  }

  @Test
  void writtenCheckpointGivesTheSameLogitsInTheInferenceModel(@TempDir Path dir) throws Exception {
    ModelShape shape = new ModelShape(97, 32, 80, 4, 8, 48, 4, 5, 30.0,
        List.of(ModelShape.RECURRENT, ModelShape.RECURRENT, ModelShape.ATTENTION));
    ModelParameters params = new ModelParameters(shape);
    params.initialize(21);
    Random random = new Random(22);
    for (Parameter p : params.all()) {
      if (p.name().contains("norm") || p.name().contains("bias")) {
        for (int i = 0; i < p.size(); i++) {
          p.values()[i] = random.nextGaussian() * 0.3;
        }
      }
    }
    Checkpoint.save(dir, params, DType.F32, null);
    // Compare against the float32 values the file holds.
    ModelParameters reloaded = Checkpoint.load(dir);
    int[] tokens = new int[23];
    for (int t = 0; t < tokens.length; t++) {
      tokens[t] = random.nextInt(shape.vocabSize());
    }
    double[] expected = new TrainingModel(reloaded, new Gemm(pool, Gemm.Precision.FLOAT64)).logits(tokens);
    float[] actual;
    try (RecurrentGemmaModel model = RecurrentGemmaModel.load(dir)) {
      assertEquals(shape.vocabSize(), model.config().vocabSize());
      actual = model.forwardAll(model.newState(), tokens);
    }
    assertEquals(expected.length, actual.length);
    double maxAbs = 0;
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
    }
    assertTrue(maxAbs > 1, "logits large enough to compare: " + maxAbs);
    assertTrue(worst <= 2e-5 * maxAbs, "largest difference " + worst + " (max |logit| " + maxAbs + ")");
  }
}
