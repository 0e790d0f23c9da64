package dev.rgemma.model;

/** Receives named intermediates of a forward pass (for tests and debugging). */
public interface ForwardTrace {
  /**
   * Residual stream: index 0 = scaled embeddings, index i = output of layer i - 1.
   *
   * @param x [tokens, hidden], rows are the chunk's tokens starting at {@code firstToken}
   */
  default void residual(int index, int firstToken, float[] x, int tokens) {}

  /** Output of the final RMSNorm, [tokens, hidden]. */
  default void finalNorm(int firstToken, float[] x, int tokens) {}
}
