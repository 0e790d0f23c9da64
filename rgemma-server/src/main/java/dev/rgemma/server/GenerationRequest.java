package dev.rgemma.server;

import dev.rgemma.sampling.SamplerSettings;
import java.util.List;
import java.util.Map;

/**
 * One generation for the scheduler: a tokenized prompt and when to stop.
 *
 * @param prompt token ids (a text prompt's with BOS first; ids sent by a client as they are)
 * @param maxTokens most tokens to generate (finish reason {@code length}); 0 feeds the prompt only (to score it)
 * @param sampling how to pick tokens
 * @param stop strings that end the generation; they are not part of the text
 * @param logitBias added to the logits of these token ids before each token is chosen (OpenAI's
 *     {@code logit_bias}: -100 in effect bans a token, +100 forces it)
 * @param logprobs -1 for none; else each generated token comes with its {@link TokenLogprob}
 *     holding this many alternatives (at most {@link #MAX_LOGPROBS})
 * @param promptLogprobs whether the prompt's tokens get log-probabilities too (each given the
 *     tokens before it; the first has none), which needs {@code logprobs >= 0}; the prompt is
 *     then fed from the start, not resumed from the state cache
 * @param json null, or the schema the answer must be one JSON object of ({@link
 *     dev.rgemma.sampling.JsonConstraint}; OpenAI's {@code response_format} {@code json_object} or
 *     {@code json_schema})
 */
public record GenerationRequest(
    int[] prompt, int maxTokens, SamplerSettings sampling, List<String> stop, Map<Integer, Float> logitBias,
    int logprobs, boolean promptLogprobs, dev.rgemma.sampling.JsonSchema json) {
  /** The most alternatives a token's log-probabilities may list (OpenAI's limit for chat). */
  public static final int MAX_LOGPROBS = 20;

  public GenerationRequest {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("the prompt has no tokens");
    }
    if (maxTokens < 0) {
      throw new IllegalArgumentException("maxTokens must be >= 0, got " + maxTokens);
    }
    if (promptLogprobs && logprobs < 0) {
      throw new IllegalArgumentException("prompt log-probabilities need logprobs >= 0");
    }
    if (logprobs < -1 || logprobs > MAX_LOGPROBS) {
      throw new IllegalArgumentException("logprobs must be -1 (none) or in [0, " + MAX_LOGPROBS + "], got " + logprobs);
    }
    stop = List.copyOf(stop);
    logitBias = Map.copyOf(logitBias);
    for (Map.Entry<Integer, Float> bias : logitBias.entrySet()) {
      if (bias.getKey() < 0 || !Float.isFinite(bias.getValue())) {
        throw new IllegalArgumentException("logit bias " + bias.getValue() + " for token id " + bias.getKey()
            + ": expected a token id >= 0 and a finite bias");
      }
    }
  }

  /** A request without the prompt's log-probabilities or a JSON constraint. */
  public GenerationRequest(
      int[] prompt, int maxTokens, SamplerSettings sampling, List<String> stop, Map<Integer, Float> logitBias,
      int logprobs) {
    this(prompt, maxTokens, sampling, stop, logitBias, logprobs, false, null);
  }

  /** A request without log-probabilities. */
  public GenerationRequest(
      int[] prompt, int maxTokens, SamplerSettings sampling, List<String> stop, Map<Integer, Float> logitBias) {
    this(prompt, maxTokens, sampling, stop, logitBias, -1);
  }

  /** A request without logit biases or log-probabilities. */
  public GenerationRequest(int[] prompt, int maxTokens, SamplerSettings sampling, List<String> stop) {
    this(prompt, maxTokens, sampling, stop, Map.of());
  }
}
