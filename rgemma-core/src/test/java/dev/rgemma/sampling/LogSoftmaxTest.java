package dev.rgemma.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LogSoftmaxTest {
  @Test
  void logSumExpIsExactForSmallCasesAndDoesNotOverflow() {
    assertEquals(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), LogSoftmax.logSumExp(new float[] {9, 1, 2, 3}, 1, 4), 1e-12);
    assertEquals(1000 + Math.log(2), LogSoftmax.logSumExp(new float[] {1000, 1000}, 0, 2), 1e-9);
    assertEquals(-1000 + Math.log(2), LogSoftmax.logSumExp(new float[] {-1000, -1000}, 0, 2), 1e-9);
    assertEquals(5, LogSoftmax.logSumExp(new float[] {5, Float.NEGATIVE_INFINITY}, 0, 2), 0);
    assertEquals(Double.NEGATIVE_INFINITY, LogSoftmax.logSumExp(new float[] {Float.NEGATIVE_INFINITY}, 0, 1));
  }

  @Test
  void argmaxIsRelativeToTheRangeAndTakesTheFirstOfEquals() {
    assertEquals(1, LogSoftmax.argmax(new float[] {9, 1, 3, 3, 2}, 1, 5));
    assertEquals(0, LogSoftmax.argmax(new float[] {4, 4}, 0, 2));
  }
}
