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

  private static final boolean VECTOR = vectorAvailable();

  private static boolean vectorAvailable() {
    if (Boolean.getBoolean("rgemma.training.scalar")) {
      return false;
    }
    try {
      VectorGemmKernel.describe();
      return true;
    } catch (LinkageError e) {
      System.getLogger(Gemm.class.getName()).log(System.Logger.Level.INFO,
          "training GEMM: Vector API unavailable (" + e + "), using plain loops");
      return false;
    }
  }

  /** Which float kernel runs: the Vector API one or the plain-loop fallback. */
  public static String kernelDescription() {
    return VECTOR ? VectorGemmKernel.describe() : "plain loops";
  }

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
    rowTimesMatrix(rows, cols, inner, at, bf, c, cOff, ldc, true);
  }

  private void rowTimesMatrix(
      int rows, int cols, int inner, float[] af, float[] bf,
      double[] c, int cOff, int ldc, boolean accumulate) {
    // Hand out blocks of 4 rows so that every thread can use the 4-row kernel.
    int blocks = (rows + 3) / 4;
    pool.parallelFor(blocks, (from, to) -> {
      int r0 = from * 4;
      int r1 = Math.min(rows, to * 4);
      if (VECTOR) {
        VectorGemmKernel.multiply(r0, r1, cols, inner, af, bf, c, cOff, ldc, accumulate);
      } else {
        scalarRows(r0, r1, 0, cols, cols, inner, af, bf, c, cOff, ldc, accumulate);
      }
    });
  }

  /** Columns {@code [n0, n1)} of rows {@code [from, to)}: plain loops C2 vectorizes. */
  static void scalarRows(int from, int to, int n0, int n1, int cols, int inner, float[] af,
      float[] bf, double[] c, int cOff, int ldc, boolean accumulate) {
    int width = n1 - n0;
    float[] row = new float[width]; // [n1 - n0]
    for (int m = from; m < to; m++) {
      java.util.Arrays.fill(row, 0f);
      int aRow = m * inner;
      for (int k = 0; k < inner; k++) {
        float av = af[aRow + k];
        if (av != 0f) {
          axpy(av, bf, k * cols + n0, row, 0, width);
        }
      }
      int ci = cOff + m * ldc + n0;
      if (accumulate) {
        for (int n = 0; n < width; n++) {
          c[ci + n] += row[n];
        }
      } else {
        for (int n = 0; n < width; n++) {
          c[ci + n] = row[n];
        }
      }
    }
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
    int tile = 32;
    int colTiles = (cols + tile - 1) / tile;
    pool.parallelFor(colTiles, (from, to) -> {
      for (int j0 = from * tile; j0 < Math.min(cols, to * tile); j0 += tile) {
        int j1 = Math.min(cols, j0 + tile);
        for (int r0 = 0; r0 < rows; r0 += tile) {
          int r1 = Math.min(rows, r0 + tile);
          for (int j = j0; j < j1; j++) {
            int d = j * rows;
            for (int r = r0; r < r1; r++) {
              dst[d + r] = (float) src[off + r * ld + j];
            }
          }
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
