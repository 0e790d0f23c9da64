package dev.rgemma.training;

/**
 * Matrix products over row-major {@code double[]} buffers with explicit offsets and leading
 * dimensions. {@link Precision#FLOAT32} rounds both operands to float and multiplies in float on
 * the {@link WorkerPool} (the training path); {@link Precision#FLOAT64} is a plain triple loop in
 * double (the gradient-check path, and the reference the float path is tested against).
 */
public final class Gemm {
  /** Arithmetic used inside the products. */
  public enum Precision {
    FLOAT32,
    FLOAT64
  }

  private static final int ROW_BLOCK = 64;

  private final WorkerPool pool;
  private final Precision precision;
  private float[] scratchA = new float[0];
  private float[] scratchB = new float[0];

  public Gemm(WorkerPool pool, Precision precision) {
    this.pool = pool;
    this.precision = precision;
  }

  public Precision precision() {
    return precision;
  }

  public WorkerPool pool() {
    return pool;
  }

  /** {@code C[m, n] (+)= sum_k A[m, k] * B[k, n]}. */
  public void nn(
      int rows, int cols, int inner,
      double[] a, int aOff, int lda,
      double[] b, int bOff, int ldb,
      double[] c, int cOff, int ldc,
      boolean accumulate) {
    if (precision == Precision.FLOAT64) {
      for (int m = 0; m < rows; m++) {
        for (int n = 0; n < cols; n++) {
          double s = 0;
          for (int k = 0; k < inner; k++) {
            s += a[aOff + m * lda + k] * b[bOff + k * ldb + n];
          }
          int ci = cOff + m * ldc + n;
          c[ci] = accumulate ? c[ci] + s : s;
        }
      }
      return;
    }
    float[] af = packRows(true, a, aOff, lda, rows, inner);
    float[] bf = packRows(false, b, bOff, ldb, inner, cols);
    rowTimesMatrix(rows, cols, inner, af, bf, c, cOff, ldc, accumulate);
  }

  /** {@code C[m, n] (+)= sum_k A[m, k] * B[n, k]}: a linear layer with weight {@code B[out, in]}. */
  public void nt(
      int rows, int cols, int inner,
      double[] a, int aOff, int lda,
      double[] b, int bOff, int ldb,
      double[] c, int cOff, int ldc,
      boolean accumulate) {
    if (precision == Precision.FLOAT64) {
      for (int m = 0; m < rows; m++) {
        for (int n = 0; n < cols; n++) {
          double s = 0;
          for (int k = 0; k < inner; k++) {
            s += a[aOff + m * lda + k] * b[bOff + n * ldb + k];
          }
          int ci = cOff + m * ldc + n;
          c[ci] = accumulate ? c[ci] + s : s;
        }
      }
      return;
    }
    float[] af = packRows(true, a, aOff, lda, rows, inner);
    float[] bf = packTransposed(false, b, bOff, ldb, cols, inner);
    rowTimesMatrix(rows, cols, inner, af, bf, c, cOff, ldc, accumulate);
  }

  /**
   * {@code C[m, n] += sum_k A[k, m] * B[k, n]}: a weight gradient, summing over the {@code inner}
   * rows (tokens) of the activations. Always accumulates.
   */
  public void tn(
      int rows, int cols, int inner,
      double[] a, int aOff, int lda,
      double[] b, int bOff, int ldb,
      double[] c, int cOff, int ldc) {
    if (precision == Precision.FLOAT64) {
      for (int m = 0; m < rows; m++) {
        for (int n = 0; n < cols; n++) {
          double s = 0;
          for (int k = 0; k < inner; k++) {
            s += a[aOff + k * lda + m] * b[bOff + k * ldb + n];
          }
          c[cOff + m * ldc + n] += s;
        }
      }
      return;
    }
    float[] at = packTransposed(true, a, aOff, lda, inner, rows); // [rows, inner]
    float[] bf = packRows(false, b, bOff, ldb, inner, cols); // [inner, cols]
    pool.parallelFor(
        rows,
        (from, to) -> {
          float[] acc = new float[(to - from) * cols]; // [to - from, cols]
          for (int k0 = 0; k0 < inner; k0 += ROW_BLOCK) {
            int k1 = Math.min(inner, k0 + ROW_BLOCK);
            for (int m = from; m < to; m++) {
              int accOff = (m - from) * cols;
              for (int k = k0; k < k1; k++) {
                float av = at[m * inner + k];
                if (av != 0f) {
                  axpy(av, bf, k * cols, acc, accOff, cols);
                }
              }
            }
          }
          for (int m = from; m < to; m++) {
            int ci = cOff + m * ldc;
            int accOff = (m - from) * cols;
            for (int n = 0; n < cols; n++) {
              c[ci + n] += acc[accOff + n];
            }
          }
        });
  }

  private void rowTimesMatrix(
      int rows, int cols, int inner, float[] af, float[] bf,
      double[] c, int cOff, int ldc, boolean accumulate) {
    pool.parallelFor(
        rows,
        (from, to) -> {
          float[] row = new float[cols]; // [cols]
          for (int m = from; m < to; m++) {
            java.util.Arrays.fill(row, 0f);
            int aRow = m * inner;
            for (int k = 0; k < inner; k++) {
              float av = af[aRow + k];
              if (av != 0f) {
                axpy(av, bf, k * cols, row, 0, cols);
              }
            }
            int ci = cOff + m * ldc;
            if (accumulate) {
              for (int n = 0; n < cols; n++) {
                c[ci + n] += row[n];
              }
            } else {
              for (int n = 0; n < cols; n++) {
                c[ci + n] = row[n];
              }
            }
          }
        });
  }

  /** {@code y[yOff + j] += alpha * x[xOff + j]}; written so that C2 vectorizes it. */
  private static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
    for (int j = 0; j < n; j++) {
      y[yOff + j] += alpha * x[xOff + j];
    }
  }

  /** Copies a {@code [rows, cols]} strided block to a contiguous float array. */
  private float[] packRows(boolean first, double[] src, int off, int ld, int rows, int cols) {
    float[] dst = scratch(first, rows * cols);
    pool.parallelFor(
        rows,
        (from, to) -> {
          for (int r = from; r < to; r++) {
            int s = off + r * ld;
            int d = r * cols;
            for (int j = 0; j < cols; j++) {
              dst[d + j] = (float) src[s + j];
            }
          }
        });
    return dst;
  }

  /** Copies the transpose of a strided {@code [rows, cols]} block: result is {@code [cols, rows]}. */
  private float[] packTransposed(boolean first, double[] src, int off, int ld, int rows, int cols) {
    float[] dst = scratch(first, rows * cols);
    pool.parallelFor(
        cols,
        (from, to) -> {
          for (int r = 0; r < rows; r++) {
            int s = off + r * ld;
            for (int j = from; j < to; j++) {
              dst[j * rows + r] = (float) src[s + j];
            }
          }
        });
    return dst;
  }

  private float[] scratch(boolean first, int size) {
    if (first) {
      if (scratchA.length < size) {
        scratchA = new float[size];
      }
      return scratchA;
    }
    if (scratchB.length < size) {
      scratchB = new float[size];
    }
    return scratchB;
  }
}
