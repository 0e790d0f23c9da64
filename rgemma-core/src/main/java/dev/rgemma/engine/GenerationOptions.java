package dev.rgemma.engine;

import java.util.List;

/**
 * Runtime limits of one generation (separate from the model and the sampler settings).
 *
 * @param maxTokens most tokens to generate; 0 only feeds the prompt
 * @param stopStrings generation ends when the text contains one of them; it is never emitted
 * @param ignoreStopTokens keep going past EOS and {@code <end_of_turn>} (treat them as text)
 * @param jsonSchema null, or the schema the answer must be one JSON object of ({@link
 *     dev.rgemma.sampling.JsonSchema#ANY_OBJECT} for any object; {@link
 *     dev.rgemma.sampling.JsonConstraint})
 */
public record GenerationOptions(
    int maxTokens, List<String> stopStrings, boolean ignoreStopTokens, dev.rgemma.sampling.JsonSchema jsonSchema) {
  public GenerationOptions {
    if (jsonSchema != null && ignoreStopTokens) {
      throw new IllegalArgumentException("JSON mode ends the answer with a stop token once the object closes: it "
          + "cannot be combined with ignoring the stop tokens");
    }
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

  /** Options with JSON mode for any object ({@code json}) or without. */
  public GenerationOptions(int maxTokens, List<String> stopStrings, boolean ignoreStopTokens, boolean json) {
    this(maxTokens, stopStrings, ignoreStopTokens, json ? dev.rgemma.sampling.JsonSchema.ANY_OBJECT : null);
  }

  /** Options without JSON mode. */
  public GenerationOptions(int maxTokens, List<String> stopStrings, boolean ignoreStopTokens) {
    this(maxTokens, stopStrings, ignoreStopTokens, (dev.rgemma.sampling.JsonSchema) null);
  }

  /** Whether the answer is constrained to JSON. */
  public boolean json() {
    return jsonSchema != null;
  }

  public static GenerationOptions maxTokens(int maxTokens) {
    return new GenerationOptions(maxTokens, List.of(), false);
  }
}
