package dev.rgemma.model;

/** The fixed-size state that one residual layer carries from token to token. */
public sealed interface LayerState permits LayerState.RecurrentState, LayerState.AttentionState {

  /** An independent deep copy. */
  LayerState copy();

  /** Bytes of state held (floats x 4). */
  long sizeBytes();

  /**
   * Recurrent layer: the last {@code convWidth - 1} conv inputs (oldest first, zero at start) and
   * the float32 RG-LRU state.
   *
   * @param convWindow [convWidth - 1, lruWidth]
   * @param h [lruWidth]
   */
  record RecurrentState(float[] convWindow, float[] h) implements LayerState {
    @Override
    public RecurrentState copy() {
      return new RecurrentState(convWindow.clone(), h.clone());
    }

    @Override
    public long sizeBytes() {
      return 4L * (convWindow.length + h.length);
    }
  }

  /**
   * Attention layer: a ring buffer of {@code attentionWindowSize} slots; the key/value of the
   * token at position p live in slot p mod window. Keys are stored after RoPE; values are stored
   * transposed so that weighting them by attention probabilities is one matrix product.
   *
   * @param keys [window, headDim]
   * @param valuesTransposed [headDim, window]
   */
  record AttentionState(float[] keys, float[] valuesTransposed) implements LayerState {
    @Override
    public AttentionState copy() {
      return new AttentionState(keys.clone(), valuesTransposed.clone());
    }

    @Override
    public long sizeBytes() {
      return 4L * (keys.length + valuesTransposed.length);
    }
  }
}
