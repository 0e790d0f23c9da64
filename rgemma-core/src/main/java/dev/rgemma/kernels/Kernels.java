package dev.rgemma.kernels;

import dev.rgemma.tensor.WeightMatrix;
import java.util.Objects;

/**
 * The public facade of rgemma's compute kernels. Checks arguments, then dispatches to the scalar
 * implementation (and, where available, a SIMD one). Kernels know nothing about the model.
 */
public final class Kernels {
  private Kernels() {}

  /**
   * {@code out[t, r] = sum_c w[r, c] * x[t, c]} for {@code t < tokens}: x is {@code [tokens,
   * w.cols]} starting at {@code xOffset}, out is {@code [tokens, w.rows]} starting at {@code
   * outOffset}.
   */
  public static void matmul(
      WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset) {
    Objects.requireNonNull(w);
    checkRange("x", x, xOffset, (long) tokens * w.cols());
    checkRange("out", out, outOffset, (long) tokens * w.rows());
    ScalarKernels.matmul(w, x, xOffset, tokens, out, outOffset);
  }

  /** Writes row {@code row} of {@code w}, widened to float32, into {@code out[offset ..]}. */
  public static void readRow(WeightMatrix w, int row, float[] out, int offset) {
    Objects.checkIndex(row, w.rows());
    checkRange("out", out, offset, w.cols());
    ScalarKernels.readRow(w, row, out, offset);
  }

  private static void checkRange(String what, float[] array, int offset, long length) {
    if (offset < 0 || length < 0 || offset + length > array.length) {
      throw new IndexOutOfBoundsException(
          what + ": range [" + offset + ", " + (offset + length) + ") outside array of "
              + array.length);
    }
  }
}
