package dev.rgemma.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LogSoftmaxTest {
  /** Float32 exponentials (within about 2 ulps) summed in double: within 1e-6 of the exact value. */
  @Test
  void logSumExpIsCloseForSmallCasesAndDoesNotOverflow() {
    assertEquals(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), LogSoftmax.logSumExp(new float[] {9, 1, 2, 3}, 1, 4), 1e-6);
    assertEquals(1000 + Math.log(2), LogSoftmax.logSumExp(new float[] {1000, 1000}, 0, 2), 1e-6);
    assertEquals(-1000 + Math.log(2), LogSoftmax.logSumExp(new float[] {-1000, -1000}, 0, 2), 1e-6);
    assertEquals(5, LogSoftmax.logSumExp(new float[] {5, Float.NEGATIVE_INFINITY}, 0, 2), 0);
    assertEquals(Double.NEGATIVE_INFINITY, LogSoftmax.logSumExp(new float[] {Float.NEGATIVE_INFINITY}, 0, 1));
  }

  /** Many logits, seeded: against a double-precision sum of Math.exp. */
  @Test
  void logSumExpOfAVocabularyMatchesDoublePrecision() {
    java.util.SplittableRandom random = new java.util.SplittableRandom(5);
    float[] logits = new float[256_000];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) (random.nextDouble() * 40 - 25);
    }
    double max = Double.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l);
    }
    double sum = 0;
    for (float l : logits) {
      sum += Math.exp(l - max);
    }
    assertEquals(max + Math.log(sum), LogSoftmax.logSumExp(logits, 0, logits.length), 1e-6);
    assertEquals(max + Math.log(sum), LogSoftmax.logSumExp(logits, 0, logits.length), 1e-6, "a second call, same scratch");
  }

}
