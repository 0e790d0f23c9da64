package dev.rgemma.api;

import java.util.Arrays;

/**
 * How likely a model finds a continuation after a context ({@link RgemmaModel#score}), as
 * evaluation harnesses measure multiple-choice answers.
 *
 * @param tokens the continuation's token ids
 * @param logprobs the natural-log probability of each, given the context and the continuation's
 *     tokens before it
 * @param greedy whether every continuation token was the model's most likely one at its position,
 *     so that greedy decoding from the context would produce the continuation
 */
public record Score(int[] tokens, float[] logprobs, boolean greedy) {
  public Score {
    if (tokens.length != logprobs.length) {
      throw new IllegalArgumentException(tokens.length + " tokens but " + logprobs.length + " log-probabilities");
    }
    tokens = tokens.clone();
    logprobs = logprobs.clone();
  }

  @Override
  public int[] tokens() {
    return tokens.clone();
  }

  @Override
  public float[] logprobs() {
    return logprobs.clone();
  }

  /** The continuation's log-probability: the sum of its tokens' (in double). */
  public double logLikelihood() {
    double sum = 0;
    for (float logprob : logprobs) {
      sum += logprob;
    }
    return sum;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Score s && greedy == s.greedy && Arrays.equals(tokens, s.tokens)
        && Arrays.equals(logprobs, s.logprobs);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Arrays.hashCode(tokens) + Arrays.hashCode(logprobs)) + Boolean.hashCode(greedy);
  }

  @Override
  public String toString() {
    return "Score[tokens=" + tokens.length + ", logLikelihood=" + logLikelihood() + ", greedy=" + greedy + "]";
  }
}
