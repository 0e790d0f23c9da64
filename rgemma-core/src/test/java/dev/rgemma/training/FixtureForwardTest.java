package dev.rgemma.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The training model's forward pass on the tiny-a golden fixture reproduces the official
 * reference's logits: the model being trained is exactly the RecurrentGemma architecture.
 */
class FixtureForwardTest {
  static final Path FIXTURE = Paths.get("src/test/resources/fixtures/tiny-a");
  private static WorkerPool pool;

  @BeforeAll
  static void startPool() {
    pool = new WorkerPool(2);
  }

  @AfterAll
  static void stopPool() {
    pool.close();
  }

  static int[] fixtureTokens() throws Exception {
    JsonNode expected = new ObjectMapper().readTree(FIXTURE.resolve("expected.json").toFile());
    JsonNode tokens = expected.get("input_tokens");
    int[] out = new int[tokens.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = tokens.get(i).asInt();
    }
    return out;
  }

  @ParameterizedTest
  @EnumSource(Gemm.Precision.class)
  void forwardLogitsMatchTheOfficialReference(Gemm.Precision precision) throws Exception {
    ModelParameters params = Checkpoint.load(FIXTURE);
    assertEquals(6, params.shape().numLayers());
    assertEquals(144, params.shape().mlpWidth());
    assertEquals(6.9375, params.shape().embeddingScale());
    TrainingModel model = new TrainingModel(params, new Gemm(pool, precision));
    int[] tokens = fixtureTokens();
    double[] logits = model.logits(tokens);
    float[] expected = Npy.readFloat32(FIXTURE.resolve("expected_forward_logits.npy"));
    assertEquals(expected.length, logits.length);
    double maxAbs = 0;
    for (float v : expected) {
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - logits[i]));
    }
    assertTrue(worst <= 2e-5 * maxAbs,
        "largest logit difference " + worst + " exceeds 2e-5 x " + maxAbs);
  }
}
