package dev.rgemma.training;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-blocked float kernel behind {@link Gemm}: {@code C[m, n] (+)= sum_k A[m, k] B[k, n]}
 * on packed row-major float operands, 4 rows x 2 vectors of C at a time kept in registers. The
 * only class of the training package that uses the Vector API; {@link Gemm} falls back to plain
 * loops when the module is absent or {@code -Drgemma.training.scalar=true}.
 */
final class VectorGemmKernel {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();
  private static final int ROWS = 4;

  private VectorGemmKernel() {}

  static String describe() {
    return "Vector API, " + LANES + " float lanes";
  }

  /** Rows {@code [from, to)} of C; {@code a} is {@code [rows, inner]}, {@code b} {@code [inner, cols]}. */
  static void multiply(int from, int to, int cols, int inner, float[] a, float[] b,
      double[] c, int cOff, int ldc, boolean accumulate) {
    int step = 2 * LANES;
    int vectorCols = cols / step * step;
    float[] tile = new float[ROWS * step]; // [4, 2 * LANES]
    int m = from;
    for (; m + ROWS <= to; m += ROWS) {
      int a0 = m * inner;
      int a1 = a0 + inner;
      int a2 = a1 + inner;
      int a3 = a2 + inner;
      for (int n = 0; n < vectorCols; n += step) {
        FloatVector c00 = FloatVector.zero(SPECIES);
        FloatVector c01 = FloatVector.zero(SPECIES);
        FloatVector c10 = FloatVector.zero(SPECIES);
        FloatVector c11 = FloatVector.zero(SPECIES);
        FloatVector c20 = FloatVector.zero(SPECIES);
        FloatVector c21 = FloatVector.zero(SPECIES);
        FloatVector c30 = FloatVector.zero(SPECIES);
        FloatVector c31 = FloatVector.zero(SPECIES);
        for (int k = 0; k < inner; k++) {
          int bo = k * cols + n;
          FloatVector b0 = FloatVector.fromArray(SPECIES, b, bo);
          FloatVector b1 = FloatVector.fromArray(SPECIES, b, bo + LANES);
          FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + k]);
          c00 = x.fma(b0, c00);
          c01 = x.fma(b1, c01);
          x = FloatVector.broadcast(SPECIES, a[a1 + k]);
          c10 = x.fma(b0, c10);
          c11 = x.fma(b1, c11);
          x = FloatVector.broadcast(SPECIES, a[a2 + k]);
          c20 = x.fma(b0, c20);
          c21 = x.fma(b1, c21);
          x = FloatVector.broadcast(SPECIES, a[a3 + k]);
          c30 = x.fma(b0, c30);
          c31 = x.fma(b1, c31);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, step);
        c11.intoArray(tile, step + LANES);
        c20.intoArray(tile, 2 * step);
        c21.intoArray(tile, 2 * step + LANES);
        c30.intoArray(tile, 3 * step);
        c31.intoArray(tile, 3 * step + LANES);
        for (int r = 0; r < ROWS; r++) {
          int ci = cOff + (m + r) * ldc + n;
          for (int j = 0; j < step; j++) {
            c[ci + j] = accumulate ? c[ci + j] + tile[r * step + j] : tile[r * step + j];
          }
        }
      }
      if (vectorCols < cols) {
        Gemm.scalarRows(m, m + ROWS, vectorCols, cols, cols, inner, a, b, c, cOff, ldc, accumulate);
      }
    }
    if (m < to) {
      Gemm.scalarRows(m, to, 0, cols, cols, inner, a, b, c, cOff, ldc, accumulate);
    }
  }
}
