package dev.rgemma.server;

/**
 * The sampling fields of an OpenAI request, validated by the request parser.
 *
 * @param temperature 0 = greedy; OpenAI's range [0, 2]
 * @param topP nucleus mass in (0, 1]; 1 disables
 * @param frequencyPenalty subtracted once per earlier occurrence of a token, [-2, 2]
 * @param presencePenalty subtracted once from every token that occurred, [-2, 2]
 * @param seed seed of the random draw
 */
public record SamplingParams(double temperature, double topP, double frequencyPenalty,
    double presencePenalty, long seed) {

  /** Argmax, no penalties. */
  public static SamplingParams greedy() {
    return new SamplingParams(0, 1, 0, 0, 0);
  }
}
