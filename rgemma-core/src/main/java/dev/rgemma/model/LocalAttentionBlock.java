package dev.rgemma.model;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;
import dev.rgemma.tensor.WeightMatrix;

/**
 * Local multi-query attention: every query head attends, with one shared key/value head, to the
 * current token and the previous {@code attentionWindowSize} tokens (window + 1 keys). Keys and
 * values of earlier calls come from the ring buffer in {@link LayerState.AttentionState}.
 */
public record LocalAttentionBlock(
    ModelConfig config,
    PackedMatrix qProj, // [numHeads * headDim, hidden]
    PackedMatrix kProj, // [headDim, hidden]
    PackedMatrix vProj, // [headDim, hidden]
    PackedMatrix oProj, // [hidden, numHeads * headDim]
    float[] oProjBias) // [hidden]
    implements TemporalBlock {

  static LocalAttentionBlock load(Weights source, ModelConfig config, int layer) {
    int d = config.hiddenSize();
    int hd = config.headDim();
    int qWidth = config.numHeads() * hd;
    return new LocalAttentionBlock(
        config,
        source.matrix(TensorNames.qProj(layer), qWidth, d),
        source.matrix(TensorNames.kProj(layer), hd, d),
        source.matrix(TensorNames.vProj(layer), hd, d),
        source.matrix(TensorNames.oProj(layer, "weight"), d, qWidth),
        source.floats(TensorNames.oProj(layer, "bias"), d));
  }

  void forward(float[] n, int tokens, java.util.List<Segment> segments, int layer, float[] out) {
    int heads = config.numHeads();
    int hd = config.headDim();
    float[] q;
    float[] k;
    float[] v;
    long time = Profile.now();
    if (tokens == 1) {
      // One token: the three products in one split over the threads (same bits as one each).
      int qw = heads * hd;
      float[] qkv = new float[qw + 2 * hd];
      Kernels.matmulEach(new PackedMatrix[] {qProj, kProj, vProj}, n, new int[] {0, 0, 0}, qkv,
          new int[] {0, qw, qw + hd});
      q = java.util.Arrays.copyOfRange(qkv, 0, qw);
      k = java.util.Arrays.copyOfRange(qkv, qw, qw + hd);
      v = java.util.Arrays.copyOfRange(qkv, qw + hd, qw + 2 * hd);
    } else {
      q = new float[tokens * heads * hd]; // [tokens, numHeads, headDim]
      k = new float[tokens * hd]; // [tokens, headDim]
      v = new float[tokens * hd]; // [tokens, headDim]
      Kernels.matmul(qProj, n, 0, tokens, q, 0);
      Kernels.matmul(kProj, n, 0, tokens, k, 0);
      Kernels.matmul(vProj, n, 0, tokens, v, 0);
    }
    time = Profile.add(Profile.Part.ATTENTION_QKV, time);
    float[] attended = new float[tokens * heads * hd]; // [tokens, numHeads, headDim]
    for (Segment segment : segments) {
      var state = (LayerState.AttentionState) segment.state().layer(layer);
      attend(q, k, v, segment.firstRow(), segment.rows(), segment.startPosition(), state, attended);
    }
    time = Profile.add(Profile.Part.ATTENTION_CORE, time);
    Kernels.matmul(oProj, attended, 0, tokens, out, 0);
    Ops.addBias(out, oProjBias, tokens);
    Profile.add(Profile.Part.ATTENTION_OUT, time);
  }

  /**
   * Attention for rows [firstRow, firstRow + tokens) of one sequence, then stores their keys and
   * values in the ring buffer. Scores and weighted values are matrix products (all query heads
   * share the single key/value head): once against the cache slots, once against the chunk.
   */
  /** Chunks of at most this many tokens weight their own values with plain loops. */
  private static final int SHORT_CHUNK = 4;

  private void attend(float[] q, float[] k, float[] v, int firstRow, int tokens, long startPosition,
      LayerState.AttentionState state, float[] attended) {
    if (tokens <= SHORT_CHUNK) {
      attend(q, k, v, firstRow, tokens, startPosition, state, attended, null);
      return;
    }
    // Shared: the kernel pool packs and reads the chunk's matrices; freed when the chunk is done.
    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
      attend(q, k, v, firstRow, tokens, startPosition, state, attended, arena);
    }
  }

  private void attend(float[] q, float[] k, float[] v, int firstRow, int tokens, long startPosition,
      LayerState.AttentionState state, float[] attended, java.lang.foreign.Arena arena) {
    int heads = config.numHeads();
    int hd = config.headDim();
    int window = config.attentionWindowSize();
    Rope rope = Rope.forThread(config.rotaryDim(), config.ropeTheta());
    for (int t = firstRow; t < firstRow + tokens; t++) {
      rope.setPosition(startPosition + t - firstRow);
      for (int h = 0; h < heads; h++) {
        rope.apply(q, (t * heads + h) * hd);
      }
      rope.apply(k, t * hd);
    }
    int queries = tokens * heads; // query rows of this sequence: [tokens, numHeads]
    int qOffset = firstRow * heads * hd;
    boolean shortChunk = tokens <= SHORT_CHUNK;
    boolean useCache = startPosition > 0;
    // Until the ring buffer has wrapped, only slots [0, startPosition) hold keys: score those alone.
    int slots = (int) Math.min(window, startPosition);
    float[] cacheScores = useCache ? new float[queries * slots] : null; // [queries, slots]
    float[] chunkScores = new float[queries * tokens]; // [queries, tokens]
    // A short chunk (decoding) multiplies the cache and its own rows in place; a long one (prefill)
    // goes through the matrix-matrix kernels on packed copies of the keys (see packed()).
    if (shortChunk) {
      if (useCache) {
        // The keys' first `slots` columns, 16 slots to a group: the slots are the vector lanes.
        Kernels.rowsTimesColumnGroups(q, qOffset, hd, queries, hd, state.keys(), 0, state.keyGroupStride(), slots,
            cacheScores, 0, slots);
      }
      Kernels.dotRows(k, firstRow * hd, tokens, hd, hd, q, qOffset, queries, chunkScores, 0);
    } else {
      if (useCache) {
        Kernels.matmul(packed(arena, "kv-cache keys", slots, hd, state.keysByRow(slots), 0), q, qOffset, queries,
            cacheScores, 0);
      }
      Kernels.matmul(packed(arena, "chunk keys", tokens, hd, k, firstRow * hd), q, qOffset, queries, chunkScores, 0);
    }

    // Mask and softmax (float32): a query at p sees key positions p - window .. p.
    long[] keyPositions = new long[slots];
    for (int slot = 0; slot < slots; slot++) {
      keyPositions[slot] = cachedPosition(slot, startPosition, window);
    }
    float scale = (float) (1.0 / Math.sqrt(hd));
    // Rows two by two once they are long (decoding 10 heads over a full window: 8 + 2 rows with
    // chunks of 16384 values, most of the work on one thread).
    Kernels.parallelRanges(queries, Math.max(1, 4096 / (slots + tokens)), (firstQuery, endQuery) -> {
      for (int row = firstQuery; row < endQuery; row++) {
        int t = row / heads;
        long position = startPosition + t;
        float max = Float.NEGATIVE_INFINITY;
        if (useCache && t + slots <= window) {
          // Every cached key is visible (the slots hold positions startPosition - slots ..
          // startPosition - 1): decoding, and a chunk's first rows.
          max = Ops.scaleAndMax(cacheScores, row * slots, slots, scale);
        } else if (useCache) {
          for (int slot = 0; slot < slots; slot++) {
            long keyPosition = keyPositions[slot];
            int index = row * slots + slot;
            if (keyPosition >= 0 && position - keyPosition <= window) {
              cacheScores[index] *= scale;
              max = Math.max(max, cacheScores[index]);
            } else {
              cacheScores[index] = Float.NEGATIVE_INFINITY;
            }
          }
        }
        // The chunk's visible keys are one run, u in [first, t]; the others get probability 0
        // without an exponential (the same bits: exp(-inf) = 0 adds nothing to the sum).
        int first = Math.max(0, t - window);
        int visible = t - first + 1;
        int base = row * tokens;
        for (int u = first; u <= t; u++) {
          chunkScores[base + u] *= scale;
          max = Math.max(max, chunkScores[base + u]);
        }
        float sum = 0f;
        if (useCache) {
          sum += Ops.expInPlace(cacheScores, row * slots, slots, max);
        }
        sum += Ops.expInPlace(chunkScores, base + first, visible, max);
        float inverse = 1f / sum;
        if (useCache) {
          Ops.scale(cacheScores, row * slots, slots, inverse);
        }
        Ops.scale(chunkScores, base + first, visible, inverse);
        java.util.Arrays.fill(chunkScores, base, base + first, 0f);
        java.util.Arrays.fill(chunkScores, base + t + 1, base + tokens, 0f);
      }
    });

    // attended[query] = p_cache V_cache + p_chunk V_chunk
    int outOffset = firstRow * heads * hd;
    if (shortChunk) {
      // A few keys (decoding): plain loops; the kernel's per-call set-up would cost far more.
      for (int query = 0; query < queries; query++) {
        int o = outOffset + query * hd;
        for (int u = 0; u < tokens; u++) {
          float p = chunkScores[query * tokens + u];
          int vo = (firstRow + u) * hd;
          for (int i = 0; i < hd; i++) {
            attended[o + i] += p * v[vo + i];
          }
        }
      }
    } else {
      float[] chunkValuesT = new float[hd * tokens]; // [headDim, tokens]
      for (int t = 0; t < tokens; t++) {
        for (int i = 0; i < hd; i++) {
          chunkValuesT[i * tokens + t] = v[(firstRow + t) * hd + i];
        }
      }
      Kernels.matmul(packed(arena, "chunk values", hd, tokens, chunkValuesT, 0), chunkScores, 0, queries, attended,
          outOffset);
    }
    if (useCache) {
      float[] fromCache = new float[queries * hd];
      if (shortChunk) {
        // Probabilities times the cached values, 16 dimensions to a group: those are the vector lanes.
        Kernels.rowsTimesColumnGroups(cacheScores, 0, slots, queries, slots, state.values(), 0,
            state.valueGroupStride(), hd, fromCache, 0, hd);
      } else {
        Kernels.matmul(packed(arena, "kv-cache values", hd, slots, state.valuesTransposed(slots), 0), cacheScores, 0,
            queries, fromCache, 0);
      }
      for (int i = 0; i < fromCache.length; i++) {
        attended[outOffset + i] += fromCache[i];
      }
    }

    // The ring buffer keeps the last `window` keys: only those of this chunk that are still visible.
    float[] cacheKeys = state.keys();
    float[] cacheValues = state.values();
    for (int t = Math.max(0, tokens - window); t < tokens; t++) {
      int slot = (int) ((startPosition + t) % window);
      for (int i = 0; i < hd; i++) {
        cacheKeys[state.keyIndex(slot, i)] = k[(firstRow + t) * hd + i];
        cacheValues[state.valueIndex(slot, i)] = v[(firstRow + t) * hd + i];
      }
    }
  }

  /** Position held by ring-buffer slot {@code slot} before a chunk starting at {@code start}; -1 if never filled. */
  private static long cachedPosition(int slot, long start, int window) {
    long newest = start - 1;
    long position = newest - Math.floorMod(newest - slot, window);
    return position;
  }

  /**
   * {@code data[offset ..]} ([rows, cols], row-major float32) packed for the matrix-matrix kernels,
   * in {@code arena}: copying a chunk's keys or values costs far less than the row-major kernel's
   * lane reductions per output, which dominate short inner dimensions such as a head's 256.
   */
  private static PackedMatrix packed(
      java.lang.foreign.Arena arena, String name, int rows, int cols, float[] data, int offset) {
    return Kernels.packTemporary(new WeightMatrix(name, dev.rgemma.tensor.DType.F32, rows, cols,
        java.lang.foreign.MemorySegment.ofArray(data).asSlice(4L * offset, 4L * rows * cols)), arena);
  }

  /**
   * Half-split rotary embedding on the first {@code rotaryDim} dims of a head. One per thread and
   * shape ({@link #forThread}): its timescales are computed once, and the angles of a position are
   * kept until the next one, so that the attention layers of one decoded token (all at the same
   * position) compute them once (2B: 64 powers, sines and cosines per layer were ~10 % of a
   * short-context attention step).
   */
  static final class Rope {
    private static final ThreadLocal<Rope> CURRENT = new ThreadLocal<>();

    private final int rotaryDim;
    private final float base;
    private final float[] timescales; // [rotaryDim / 2], base^(2j / rotaryDim) in float32
    private final float[] sin;
    private final float[] cos;
    private long position = -1;

    Rope(int rotaryDim, float base) {
      this.rotaryDim = rotaryDim;
      this.base = base;
      int half = rotaryDim / 2;
      timescales = new float[half];
      for (int j = 0; j < half; j++) {
        timescales[j] = (float) Math.pow(base, (float) (2 * j) / rotaryDim);
      }
      sin = new float[half];
      cos = new float[half];
    }

    /** This thread's rope for the shape (made anew when the thread last used another). */
    static Rope forThread(int rotaryDim, float base) {
      Rope rope = CURRENT.get();
      if (rope == null || rope.rotaryDim != rotaryDim || Float.compare(rope.base, base) != 0) {
        rope = new Rope(rotaryDim, base);
        CURRENT.set(rope);
      }
      return rope;
    }

    /** Computes the rotation for {@code position} (float32 as the reference: theta = pos / timescale). */
    void setPosition(long position) {
      if (position == this.position) {
        return;
      }
      for (int j = 0; j < timescales.length; j++) {
        float theta = (float) position / timescales[j];
        sin[j] = (float) Math.sin(theta);
        cos[j] = (float) Math.cos(theta);
      }
      this.position = position;
    }

    /** Rotates one head at {@code x[offset ..]} by the current position. */
    void apply(float[] x, int offset) {
      int half = timescales.length;
      for (int j = 0; j < half; j++) {
        float first = x[offset + j];
        float second = x[offset + j + half];
        x[offset + j] = first * cos[j] - second * sin[j];
        x[offset + j + half] = second * cos[j] + first * sin[j];
      }
    }
  }
}
