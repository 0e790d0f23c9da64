package dev.rgemma.kernels;

import dev.rgemma.tensor.WeightMatrix;

/**
 * One implementation of the kernels (scalar or SIMD). Arguments have been checked by {@link
 * Kernels}; implementations use {@code assert} only.
 */
interface KernelImpl {
  /** A short description for logs and benchmark output, e.g. {@code "vector 512-bit"}. */
  String name();

  /** Whether the float decode loops touch their weights ahead ({@link TouchAhead}); default no. */
  default boolean touchesAhead() {
    return false;
  }

  /**
   * {@code out[t, r] = sum_c w[r, c] * x[t, c]} for {@code rowStart <= r < rowEnd} and all {@code
   * t < tokens}; rows outside the range are left alone, so disjoint ranges may run in parallel.
   */
  void matmulRows(
      WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset,
      int rowStart, int rowEnd);

  /** Writes row {@code row} of {@code w}, widened to float32, into {@code out[offset ..]}. */
  void readRow(WeightMatrix w, int row, float[] out, int offset);

  /** Rows per group of the matrices this implementation packs ({@link PackedMatrix#groupRows()}). */
  int groupRows();

  /**
   * {@code out[t, r] = sum_c w[r, c] * x[t, c]} for the rows of groups {@code groupStart <= g <
   * groupEnd} and all {@code t < tokens}, each output one fused multiply-add chain over the columns
   * in order (see {@link PackedMatrix}); other rows are left alone.
   */
  void matmulPacked(
      PackedMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset,
      int groupStart, int groupEnd);

  /**
   * Tokens per tile of {@link #tileTokens}, or 0 if this implementation reads the tokens as they
   * are (then {@link #tileTokens} is never called).
   */
  default int tokenTile() {
    return 0;
  }

  /**
   * Copies the tokens of tiles {@code tileStart <= i < tileEnd} (tokens {@code [i * tokenTile(),
   * min((i + 1) * tokenTile(), tokens))} of {@code x[xOffset ..]}, {@code [tokens, cols]}) into
   * {@code tiles}, in the order this implementation's matrix-matrix kernels read them. Disjoint
   * tile ranges may be copied in parallel.
   */
  default void tileTokens(float[] x, int xOffset, int tokens, int cols, int tileStart, int tileEnd, float[] tiles) {
    throw new UnsupportedOperationException("reads tokens as they are");
  }

  /**
   * {@link #matmulPacked(PackedMatrix, float[], int, int, float[], int, int, int)} with the tokens
   * also given as arranged by {@link #tileTokens} ({@code tiles}, shared by the threads of one
   * product; null to arrange them here).
   */
  default void matmulPacked(
      PackedMatrix w, float[] x, int xOffset, float[] tiles, int tokens, float[] out, int outOffset,
      int groupStart, int groupEnd) {
    matmulPacked(w, x, xOffset, tokens, out, outOffset, groupStart, groupEnd);
  }

  /**
   * Row-major float32 products on heap arrays: {@code out[outOffset + t * outStride + r] = sum_c
   * m[mOffset + r * rowStride + c] * x[xOffset + t * cols + c]} for {@code rowStart <= r < rowEnd},
   * {@code t < tokens}, {@code c < cols}. Meant for small, changing matrices (attention over the
   * key/value cache) where packing would cost more than it saves.
   */
  void dotRows(
      float[] m, int mOffset, int rowStride, int cols, float[] x, int xOffset, int tokens,
      float[] out, int outOffset, int outStride, int rowStart, int rowEnd);

  /**
   * Rows of a times b stored by column groups: {@code out[outOffset + i * outStride + j] = sum_k
   * a[aOffset + i * aStride + k] * b[bOffset + (j / 16) * groupStride + k * 16 + j % 16]} for {@code
   * i < rows}, {@code k < inner} and the columns {@code j < cols} of groups {@code groupStart <= j /
   * 16 < groupEnd}; each output one fused multiply-add chain over k in order from zero (as {@link
   * #matmulPacked} sums a row), so the same bits in every implementation. The attention's cache
   * when decoding: each group of 16 columns is one run of memory, and the columns are the vector
   * lanes (no output needs a reduction across lanes).
   */
  void rowsTimesColumnGroups(
      float[] a, int aOffset, int aStride, int rows, int inner, float[] b, int bOffset, int groupStride, int cols,
      float[] out, int outOffset, int outStride, int groupStart, int groupEnd);

  /**
   * Q4_0 groups {@code groupStart <= g < groupEnd} times inputs quantized to int8 ({@link
   * Q8Activations}):
   * per 32-column block the exact integer sum {@code sum_c q[r, c] * xq[t, c] - 8 * sum_c xq[t, c]},
   * converted to float and fused into the row's sum times {@code weightScale * inputScale}.
   */
  void matmulQ4(PackedMatrix w, Q8Activations a, float[] out, int outOffset, int groupStart, int groupEnd);

  /**
   * The inputs of a Q4_0 product quantized to int8 ({@code x[xOffset ..]}, {@code [tokens, cols]}),
   * the same bits as {@link Q8Activations#of}.
   */
  default Q8Activations quantize(float[] x, int xOffset, int tokens, int cols) {
    return Q8Activations.of(x, xOffset, tokens, cols);
  }

  /**
   * GELU with the tanh approximation, in place on {@code x[from, to)}: {@code x / (1 + exp(-2z))},
   * {@code z = sqrt(2/pi) (x + 0.044715 x^3)} (that is {@code x/2 (1 + tanh z)}).
   */
  void geluTanh(float[] x, int from, int to);

  /**
   * The GeGLU product in place on {@code count} values: {@code gate[g + i] = gelu(gate[g + i] +
   * gateBias[b + i]) * (up[u + i] + upBias[b + i])}, each step the float32 operation of the
   * unfused sequence (bias additions, {@link #geluTanh}, product), so the same bits; {@code up} is
   * left alone.
   */
  void geluProduct(float[] gate, int g, float[] gateBias, float[] up, int u, float[] upBias, int b, int count);

  /** {@code x[i] = exp(x[i])} in place for {@code from <= i < to}. */
  void exp(float[] x, int from, int to);

  /**
   * {@code x[i] = cap * tanh(x[i] / cap)} in place for {@code from <= i < to} (cap > 0), in
   * float32: below |y| = 0.5 the Taylor series of tanh to y^15, above it {@code 1 - 2 / (exp(2|y|)
   * + 1)} with {@link #exp}; within a few ulps of tanh.
   */
  void softCap(float[] x, int from, int to, float cap);

  /** Sum of the float32 values in {@code data[offset, offset + bytes)} (bytes a multiple of 64). */
  float sumFloats(java.lang.foreign.MemorySegment data, long offset, long bytes);

  /**
   * Runs independent fused multiply-add chains for {@code iterations} steps and returns a value
   * that depends on all of them; {@link #fmaFlopsPerIteration()} floating-point operations each.
   */
  float fmaChains(long iterations, float seed);

  long fmaFlopsPerIteration();
}
