package dev.rgemma.server;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Picks a sequence's next token from its logits as OpenAI's fields describe: frequency and
 * presence penalties over the tokens generated so far, then argmax (temperature 0) or a seeded
 * draw from the temperature-scaled distribution cut to its top-p nucleus.
 */
final class TokenSampler {
  private final SamplingParams params;
  private final SplittableRandom random;
  private final Map<Integer, Integer> counts = new HashMap<>();

  TokenSampler(SamplingParams params) {
    this.params = params;
    this.random = new SplittableRandom(params.seed());
  }

  /** Records a generated token for the penalties. */
  void accept(int token) {
    counts.merge(token, 1, Integer::sum);
  }

  /** The next token; {@code logits} ([vocab]) is not modified. */
  int sample(float[] logits) {
    float[] scores = logits;
    if (!counts.isEmpty() && (params.frequencyPenalty() != 0 || params.presencePenalty() != 0)) {
      scores = logits.clone();
      for (Map.Entry<Integer, Integer> e : counts.entrySet()) {
        scores[e.getKey()] -= (float) (e.getValue() * params.frequencyPenalty() + params.presencePenalty());
      }
    }
    if (params.temperature() == 0) {
      return argmax(scores);
    }
    double max = scores[argmax(scores)];
    double[] weights = new double[scores.length];
    double sum = 0;
    for (int i = 0; i < scores.length; i++) {
      weights[i] = Math.exp((scores[i] - max) / params.temperature());
      sum += weights[i];
    }
    Integer[] order = null;
    int kept = scores.length;
    if (params.topP() < 1) {
      order = new Integer[scores.length];
      for (int i = 0; i < order.length; i++) {
        order[i] = i;
      }
      double[] w = weights;
      Arrays.sort(order, (a, b) -> Double.compare(w[b], w[a]));
      double mass = 0;
      kept = 0;
      while (kept < order.length && mass < params.topP() * sum) {
        mass += weights[order[kept++]];
      }
      sum = mass;
    }
    double target = random.nextDouble() * sum;
    for (int k = 0; k < kept; k++) {
      int i = order == null ? k : order[k];
      target -= weights[i];
      if (target < 0) {
        return i;
      }
    }
    return order == null ? kept - 1 : order[kept - 1];
  }

  /** Index of the largest value; the lowest index wins a tie. */
  static int argmax(float[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }
}
