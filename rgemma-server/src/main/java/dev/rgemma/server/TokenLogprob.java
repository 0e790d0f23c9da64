package dev.rgemma.server;

import java.util.List;

/**
 * A generated token with its log-probability and the most likely tokens at its position (OpenAI's
 * {@code logprobs}): natural logarithms of the model's distribution over the vocabulary after
 * {@code logit_bias}, before temperature, penalties and {@code top_p}.
 *
 * @param token the generated token id
 * @param logprob its log-probability
 * @param top the most likely tokens at this position, most likely first (as many as asked)
 * @param textOffset where this token's text starts in the generation's text (UTF-16 index)
 */
public record TokenLogprob(int token, float logprob, List<Alternative> top, int textOffset) {
  public TokenLogprob {
    top = List.copyOf(top);
  }

  /** A token that could have been chosen at this position, and its log-probability. */
  public record Alternative(int token, float logprob) {}

  /**
   * The log-softmax of {@code logits} at {@code token}, with the {@code count} largest entries
   * (ties: lower id first), via {@link dev.rgemma.sampling.LogSoftmax#logSumExp}.
   */
  static TokenLogprob of(float[] logits, int token, int count, int textOffset) {
    double logSum = dev.rgemma.sampling.LogSoftmax.logSumExp(logits, 0, logits.length);
    int[] best = new int[count];
    int found = 0;
    float floor = Float.NEGATIVE_INFINITY; // the smallest kept logit once count are kept
    for (int id = 0; id < logits.length && count > 0; id++) {
      float logit = logits[id];
      if (found == count && !(logit > floor)) {
        continue;
      }
      int at = Math.min(found, count - 1);
      while (at > 0 && logit > logits[best[at - 1]]) {
        best[at] = best[at - 1];
        at--;
      }
      best[at] = id;
      found = Math.min(found + 1, count);
      if (found == count) {
        floor = logits[best[count - 1]];
      }
    }
    Alternative[] top = new Alternative[found];
    for (int i = 0; i < found; i++) {
      top[i] = new Alternative(best[i], (float) (logits[best[i]] - logSum));
    }
    return new TokenLogprob(token, (float) (logits[token] - logSum), List.of(top), textOffset);
  }
}
