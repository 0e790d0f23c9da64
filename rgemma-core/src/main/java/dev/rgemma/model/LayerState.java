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
   * Attention layer: a ring buffer of {@code window} slots; the key/value of the token at position
   * p live in slot p mod window. Keys are stored after RoPE. Both are stored by groups of 16
   * columns of the products that read them when decoding ({@link
   * dev.rgemma.kernels.Kernels#rowsTimesColumnGroups}): queries times keys (columns: slots) and
   * probabilities times values (columns: the head's dimensions), so that each group is one run of
   * memory. The last group is padded when window or headDim is not a multiple of 16.
   *
   * @param keys [ceil(window / 16), headDim, 16]: dimension d of slot s at {@link #keyIndex}
   * @param values [ceil(headDim / 16), window, 16]: dimension d of slot s at {@link #valueIndex}
   */
  record AttentionState(float[] keys, float[] values, int headDim, int window) implements LayerState {
    /** Columns per group: those of the kernel that reads the cache. */
    private static final int G = dev.rgemma.kernels.Kernels.COLUMN_GROUP;

    public AttentionState {
      if (headDim <= 0 || window <= 0 || keys.length != keysLength(headDim, window)
          || values.length != valuesLength(headDim, window)) {
        throw new IllegalArgumentException("attention state: " + keys.length + " keys and " + values.length
            + " values do not fit head dimension " + headDim + " and window " + window);
      }
    }

    /** A state of zeros. */
    public static AttentionState empty(int headDim, int window) {
      return new AttentionState(new float[keysLength(headDim, window)], new float[valuesLength(headDim, window)],
          headDim, window);
    }

    private static int keysLength(int headDim, int window) {
      return (window + G - 1) / G * G * headDim;
    }

    private static int valuesLength(int headDim, int window) {
      return (headDim + G - 1) / G * G * window;
    }

    /** Index in {@link #keys} of dimension {@code d} of slot {@code slot}'s key. */
    public int keyIndex(int slot, int d) {
      return (slot / G) * keyGroupStride() + d * G + slot % G;
    }

    /** Index in {@link #values} of dimension {@code d} of slot {@code slot}'s value. */
    public int valueIndex(int slot, int d) {
      return (d / G) * valueGroupStride() + slot * G + d % G;
    }

    /** Floats from one group of 16 slots of {@link #keys} to the next. */
    public int keyGroupStride() {
      return G * headDim;
    }

    /** Floats from one group of 16 dimensions of {@link #values} to the next. */
    public int valueGroupStride() {
      return G * window;
    }

    /** The keys of slots {@code [0, slots)} as rows, [slots, headDim] (a copy). */
    public float[] keysByRow(int slots) {
      float[] rows = new float[slots * headDim];
      for (int slot = 0; slot < slots; slot++) {
        for (int d = 0; d < headDim; d++) {
          rows[slot * headDim + d] = keys[keyIndex(slot, d)];
        }
      }
      return rows;
    }

    /** The values of slots {@code [0, slots)} transposed, [headDim, slots] (a copy). */
    public float[] valuesTransposed(int slots) {
      float[] transposed = new float[headDim * slots];
      for (int d = 0; d < headDim; d++) {
        for (int slot = 0; slot < slots; slot++) {
          transposed[d * slots + slot] = values[valueIndex(slot, d)];
        }
      }
      return transposed;
    }

    /** The state from keys as rows [window, headDim] and values transposed [headDim, window]. */
    public static AttentionState fromRowsAndTransposed(float[] keyRows, float[] valuesTransposed, int headDim, int window) {
      AttentionState state = empty(headDim, window);
      for (int slot = 0; slot < window; slot++) {
        for (int d = 0; d < headDim; d++) {
          state.keys[state.keyIndex(slot, d)] = keyRows[slot * headDim + d];
          state.values[state.valueIndex(slot, d)] = valuesTransposed[d * window + slot];
        }
      }
      return state;
    }

    @Override
    public AttentionState copy() {
      return new AttentionState(keys.clone(), values.clone(), headDim, window);
    }

    @Override
    public long sizeBytes() {
      return 4L * (keys.length + values.length);
    }
  }
}
