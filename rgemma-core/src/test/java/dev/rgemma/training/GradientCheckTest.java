package dev.rgemma.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every parameter gradient of the training model against central finite differences of the loss,
 * all in float64, on tiny shapes. The parameter names say which block failed.
 */
class GradientCheckTest {
  private static WorkerPool pool;

  @BeforeAll
  static void startPool() {
    pool = new WorkerPool(2);
  }

  @AfterAll
  static void stopPool() {
    pool.close();
  }

  private static ModelShape tinyShape(int window, double softCap, List<String> blockTypes, int layers) {
    return new ModelShape(11, 8, 12, 2, 4, 8, layers, window, softCap, blockTypes);
  }

  /** Random values everywhere (also norms, biases and Λ) so that no derivative is trivially zero. */
  private static ModelParameters randomParameters(ModelShape shape, long seed) {
    ModelParameters params = new ModelParameters(shape);
    Random random = new Random(seed);
    for (Parameter p : params.all()) {
      double std = p.name().contains("embed") ? 0.6 : 0.5;
      for (int i = 0; i < p.size(); i++) {
        p.value[i] = random.nextGaussian() * std;
      }
    }
    return params;
  }

  private static int[][] randomTokens(Random random, int batch, int len, int vocab) {
    int[][] out = new int[batch][len];
    for (int[] row : out) {
      for (int t = 0; t < len; t++) {
        row[t] = random.nextInt(vocab);
      }
    }
    return out;
  }

  private static void checkAllGradients(ModelShape shape, int batch, int seqLen, long seed,
      int maxEntriesPerTensor) {
    ModelParameters params = randomParameters(shape, seed);
    TrainingModel model = new TrainingModel(params, new Gemm(pool, Gemm.Precision.FLOAT64));
    Random random = new Random(seed + 1);
    int[][] inputs = randomTokens(random, batch, seqLen, shape.vocabSize());
    int[][] targets = randomTokens(random, batch, seqLen, shape.vocabSize());
    params.zeroGradients();
    model.lossAndGradient(inputs, targets);
    double eps = 1e-6;
    for (Parameter p : params.all()) {
      double[] analytic = p.gradient().clone();
      double maxDiff = 0;
      double maxGrad = 0;
      int step = Math.max(1, p.size() / maxEntriesPerTensor);
      for (int i = 0; i < p.size(); i += step) {
        double saved = p.value[i];
        p.value[i] = saved + eps;
        double plus = model.loss(inputs, targets);
        p.value[i] = saved - eps;
        double minus = model.loss(inputs, targets);
        p.value[i] = saved;
        double numeric = (plus - minus) / (2 * eps);
        maxDiff = Math.max(maxDiff, Math.abs(numeric - analytic[i]));
        maxGrad = Math.max(maxGrad, Math.abs(numeric));
      }
      assertTrue(maxGrad > 1e-9, p + ": finite differences are all zero, the check proves nothing");
      assertTrue(maxDiff <= 1e-7 + 1e-6 * maxGrad,
          p + ": analytic gradient differs from finite differences by " + maxDiff
              + " (largest gradient " + maxGrad + ")");
    }
  }

  @Test
  void everyBlockOfAShortRecurrentRecurrentAttentionModel() {
    ModelShape shape = tinyShape(3, 30.0,
        List.of(ModelShape.RECURRENT, ModelShape.RECURRENT, ModelShape.ATTENTION), 3);
    checkAllGradients(shape, 2, 6, 11, 1000);
  }

  @Test
  void softCapTightEnoughToMatter() {
    ModelShape shape = tinyShape(2, 2.0, List.of(ModelShape.ATTENTION, ModelShape.RECURRENT), 2);
    checkAllGradients(shape, 1, 5, 12, 1000);
  }

  @Test
  void recurrentScanAcrossManySteps() {
    ModelShape shape = tinyShape(4, 30.0, List.of(ModelShape.RECURRENT), 1);
    checkAllGradients(shape, 2, 40, 13, 60);
  }

  @Test
  void attentionWindowMuchShorterThanTheSequence() {
    ModelShape shape = tinyShape(3, 30.0, List.of(ModelShape.ATTENTION), 1);
    checkAllGradients(shape, 2, 25, 14, 60);
  }

  @Test
  void floatProductsMatchTheDoubleReference() {
    Random random = new Random(5);
    Gemm exact = new Gemm(pool, Gemm.Precision.FLOAT64);
    Gemm fast = new Gemm(pool, Gemm.Precision.FLOAT32);
    int[][] sizes = {{1, 1, 1}, {7, 13, 33}, {33, 7, 257}, {70, 65, 3}};
    for (int[] s : sizes) {
      int m = s[0];
      int n = s[1];
      int k = s[2];
      double[] a = gaussian(random, (m + 2) * (k + 3));
      double[] b = gaussian(random, (k + 2) * (n + 3) + (n + 2) * (k + 3));
      double[] c1 = gaussian(random, (m + 1) * (n + 5));
      double[] c2 = c1.clone();
      exact.nn(m, n, k, a, 2, k + 3, b, 1, n + 3, c1, 3, n + 5, true);
      fast.nn(m, n, k, a, 2, k + 3, b, 1, n + 3, c2, 3, n + 5, true);
      assertClose(c1, c2, k, "nn " + m + "x" + n + "x" + k);
      exact.nt(m, n, k, a, 2, k + 3, b, 1, k + 3, c1, 3, n + 5, false);
      fast.nt(m, n, k, a, 2, k + 3, b, 1, k + 3, c2, 3, n + 5, false);
      assertClose(c1, c2, k, "nt " + m + "x" + n + "x" + k);
      double[] at = gaussian(random, (k + 1) * (m + 2));
      exact.tn(m, n, k, at, 1, m + 2, b, 1, n + 3, c1, 3, n + 5);
      fast.tn(m, n, k, at, 1, m + 2, b, 1, n + 3, c2, 3, n + 5);
      assertClose(c1, c2, k, "tn " + m + "x" + n + "x" + k);
    }
  }

  private static double[] gaussian(Random random, int n) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = random.nextGaussian();
    }
    return out;
  }

  private static void assertClose(double[] expected, double[] actual, int inner, String what) {
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-5 * Math.sqrt(inner) + 1e-5, what + " at " + i);
    }
  }
}
