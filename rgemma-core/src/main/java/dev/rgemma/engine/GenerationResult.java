package dev.rgemma.engine;

/**
 * What one generation did.
 *
 * @param promptTokens tokens fed before the first sampled one (the prompt, plus the previous
 *     call's last token if it was still pending)
 * @param tokens the generated ids, without the stop token
 * @param text the generated text without any stop string ("" without a tokenizer)
 * @param prefillNanos time to feed the prompt tokens
 * @param decodeSteps single-token forward passes after the prefill
 * @param decodeNanos time of the decode steps, sampling included
 * @param position the session's position afterwards (tokens in its state)
 */
public record GenerationResult(
    StopReason stopReason,
    int promptTokens,
    int[] tokens,
    String text,
    long prefillNanos,
    int decodeSteps,
    long decodeNanos,
    long position) {

  public int generatedTokens() {
    return tokens.length;
  }

  public double prefillTokensPerSecond() {
    return rate(promptTokens, prefillNanos);
  }

  public double decodeTokensPerSecond() {
    return rate(decodeSteps, decodeNanos);
  }

  private static double rate(long count, long nanos) {
    return nanos <= 0 ? 0 : count * 1e9 / nanos;
  }

  /** One line for humans, e.g. for stderr. */
  public String summary() {
    return String.format(java.util.Locale.ROOT,
        "prompt tokens: %d, generated tokens: %d, prefill: %.1f tok/s, decode: %.1f tok/s, stop: %s",
        promptTokens, generatedTokens(), prefillTokensPerSecond(), decodeTokensPerSecond(),
        stopReason.label());
  }
}
