package dev.rgemma.engine;

import java.util.List;

/**
 * Runtime limits of one generation (separate from the model and the sampler settings).
 *
 * @param maxTokens most tokens to generate; 0 only feeds the prompt
 * @param stopStrings generation ends when the text contains one of them; it is never emitted
 * @param ignoreStopTokens keep going past EOS and {@code <end_of_turn>} (treat them as text)
 */
public record GenerationOptions(int maxTokens, List<String> stopStrings, boolean ignoreStopTokens) {
  public GenerationOptions {
    if (maxTokens < 0) {
      throw new IllegalArgumentException("max-tokens is " + maxTokens + ", expected an integer >= 0");
    }
    stopStrings = List.copyOf(stopStrings);
    for (String stop : stopStrings) {
      if (stop.isEmpty()) {
        throw new IllegalArgumentException("a stop string is empty, expected at least one character");
      }
    }
  }

  public static GenerationOptions maxTokens(int maxTokens) {
    return new GenerationOptions(maxTokens, List.of(), false);
  }
}
