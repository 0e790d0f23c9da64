package dev.rgemma.engine;

/** Receives a generation as it happens. Every method has a do-nothing default. */
public interface GenerationListener {
  GenerationListener NONE = new GenerationListener() {};

  /** The logits ([vocab]) the next token is sampled from, before penalties. Do not modify. */
  default void onLogits(float[] logits) {}

  /** A generated token (stop tokens such as EOS are not reported). */
  default void onToken(int tokenId) {}

  /** Text that is final: never part of a stop string. Only with a tokenizer. */
  default void onText(String text) {}

  /** Polled before each token; true ends the generation with {@link StopReason#CANCELLED}. */
  default boolean cancelled() {
    return false;
  }
}
