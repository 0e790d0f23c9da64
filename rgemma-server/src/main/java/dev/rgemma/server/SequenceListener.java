package dev.rgemma.server;

/** Receives a generation's output. Called on the scheduler's thread: must not block. */
public interface SequenceListener {
  /**
   * Newly generated text (never a stop string or text after it), and, when the request asked for
   * log-probabilities, the tokens whose text starts in it (a token whose bytes do not yet complete a
   * character comes with empty text); tokens whose text starts at or after a stop string never
   * come. One of the two is not empty.
   */
  void onText(String text, java.util.List<TokenLogprob> logprobs);

  /**
   * The prompt's tokens with their log-probabilities (the first token's is NaN: nothing comes
   * before it), once the prompt is fed; only when the request asked for them, before any text.
   */
  default void onPromptLogprobs(java.util.List<TokenLogprob> logprobs) {}

  /** The generation ended normally; nothing follows. */
  void onFinish(SequenceResult result);

  /** The generation failed; nothing follows. */
  void onError(RuntimeException error);
}
