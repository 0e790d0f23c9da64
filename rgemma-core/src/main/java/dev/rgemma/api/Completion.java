package dev.rgemma.api;

import java.util.Objects;

/**
 * The outcome of one generation.
 *
 * @param text the generated text, without a matched stop sequence ("" for a model without a
 *     tokenizer)
 * @param tokens the generated token ids, without the end-of-sequence or end-of-turn token
 * @param finishReason why the generation ended
 * @param promptTokens tokens fed before the first generated one: the prompt, plus the previous
 *     generation's last token, which a session feeds lazily at the start of the next call
 * @param position tokens in the session's state afterwards
 * @param prefillTokensPerSecond speed of feeding the prompt
 * @param decodeTokensPerSecond speed of generating, sampling included
 */
public record Completion(
    String text,
    int[] tokens,
    FinishReason finishReason,
    int promptTokens,
    long position,
    double prefillTokensPerSecond,
    double decodeTokensPerSecond) {

  public Completion {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(finishReason, "finishReason");
    tokens = tokens.clone();
  }

  /** A copy of the generated ids. */
  @Override
  public int[] tokens() {
    return tokens.clone();
  }

  /** How many tokens were generated. */
  public int generatedTokens() {
    return tokens.length;
  }
}
