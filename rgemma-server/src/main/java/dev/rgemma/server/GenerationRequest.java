package dev.rgemma.server;

import dev.rgemma.sampling.SamplerSettings;
import java.util.List;

/**
 * One generation for the scheduler: a tokenized prompt and when to stop.
 *
 * @param prompt token ids, BOS first
 * @param maxTokens most tokens to generate (finish reason {@code length})
 * @param sampling how to pick tokens
 * @param stop strings that end the generation; they are not part of the text
 */
public record GenerationRequest(int[] prompt, int maxTokens, SamplerSettings sampling, List<String> stop) {
  public GenerationRequest {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("the prompt has no tokens");
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
    }
    stop = List.copyOf(stop);
  }
}
