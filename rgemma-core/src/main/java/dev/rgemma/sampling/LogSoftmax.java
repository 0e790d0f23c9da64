package dev.rgemma.sampling;

/** Log-probabilities from logits: {@code log p(i) = logits[i] - logSumExp(logits)}. */
public final class LogSoftmax {
  private LogSoftmax() {}

  /**
   * {@code log(sum(exp(logits[from..to))))}, summed in double from the largest logit down (so no
   * term overflows); negative infinity for a range whose logits are all negative infinity.
   */
  public static double logSumExp(float[] logits, int from, int to) {
    float max = Float.NEGATIVE_INFINITY;
    for (int i = from; i < to; i++) {
      max = Math.max(max, logits[i]);
    }
    if (max == Float.NEGATIVE_INFINITY) {
      return max;
    }
    double sum = 0;
    for (int i = from; i < to; i++) {
      sum += Math.exp((double) logits[i] - max);
    }
    return max + Math.log(sum);
  }

  /** The index of the largest logit in {@code [from, to)} relative to {@code from}; the first of equals. */
  public static int argmax(float[] logits, int from, int to) {
    int best = from;
    for (int i = from + 1; i < to; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    return best - from;
  }
}
