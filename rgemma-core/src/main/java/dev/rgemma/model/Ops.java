package dev.rgemma.model;

/** Element-wise operations of the forward pass, written as the reference computes them. */
final class Ops {
  private Ops() {}

  /** {@code out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * (1 + weight)} for each row t of width n. */
  static void rmsNorm(float[] x, float[] weight, float eps, int rows, float[] out) {
    int n = weight.length;
    // Rows split over the kernel pool when there are many (a prompt chunk); one row stays here.
    dev.rgemma.kernels.Kernels.parallelRanges(rows, Math.max(1, 16384 / Math.max(1, n)), (first, end) -> {
      for (int t = first; t < end; t++) {
        int base = t * n;
        // Four partial sums (one chain of dependent double additions took ~2.5 us per 2560-wide
        // row, about as long as the rest of a decode step's norm).
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
          float v0 = x[base + j];
          float v1 = x[base + j + 1];
          float v2 = x[base + j + 2];
          float v3 = x[base + j + 3];
          s0 += v0 * v0;
          s1 += v1 * v1;
          s2 += v2 * v2;
          s3 += v3 * v3;
        }
        for (; j < n; j++) {
          float v = x[base + j];
          s0 += v * v;
        }
        double sumSquares = (s0 + s1) + (s2 + s3);
        float inverse = (float) (1.0 / Math.sqrt((float) (sumSquares / n) + eps));
        for (int c = 0; c < n; c++) {
          out[base + c] = x[base + c] * inverse * (1f + weight[c]);
        }
      }
    });
  }

  /** {@code x[i] += y[i]} for every i of x, split over the kernel pool when x is large. */
  static void addInPlace(float[] x, float[] y) {
    dev.rgemma.kernels.Kernels.parallelRanges(x.length, 65536, (start, end) -> {
      for (int i = start; i < end; i++) {
        x[i] += y[i];
      }
    });
  }

  /** torch softplus (threshold 20: returns x above it). */
  static float softplus(float x) {
    return x > 20f ? x : (float) Math.log1p(Math.exp(x));
  }

  /** Adds {@code bias} to each row of {@code x} ([rows, bias.length]). */
  static void addBias(float[] x, float[] bias, int rows) {
    int n = bias.length;
    // Rows split over the kernel pool when there are many (a prompt chunk); one row stays here.
    dev.rgemma.kernels.Kernels.parallelRanges(rows, Math.max(1, 16384 / Math.max(1, n)), (first, end) -> {
      for (int t = first; t < end; t++) {
        int base = t * n;
        for (int j = 0; j < n; j++) {
          x[base + j] += bias[j];
        }
      }
    });
  }

  /**
   * {@code x[i] = exp(x[i] - max)} on a range; returns the sum, as eight partial sums over
   * interleaved elements added in a fixed order (one chain of dependent additions cost ~2 us per
   * 2048 scores). exp(-inf) = 0 masks entries.
   */
  static float expInPlace(float[] x, int offset, int length, float max) {
    int end = offset + length;
    for (int i = offset; i < end; i++) {
      x[i] -= max;
    }
    dev.rgemma.kernels.Kernels.exp(x, offset, end);
    float s0 = 0f;
    float s1 = 0f;
    float s2 = 0f;
    float s3 = 0f;
    float s4 = 0f;
    float s5 = 0f;
    float s6 = 0f;
    float s7 = 0f;
    int i = offset;
    for (; i + 8 <= end; i += 8) {
      s0 += x[i];
      s1 += x[i + 1];
      s2 += x[i + 2];
      s3 += x[i + 3];
      s4 += x[i + 4];
      s5 += x[i + 5];
      s6 += x[i + 6];
      s7 += x[i + 7];
    }
    for (; i < end; i++) {
      s0 += x[i];
    }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
  }

  /** {@code x[i] *= factor} on a range; returns the largest result (order-free, so four chains). */
  static float scaleAndMax(float[] x, int offset, int length, float factor) {
    int end = offset + length;
    float m0 = Float.NEGATIVE_INFINITY;
    float m1 = m0;
    float m2 = m0;
    float m3 = m0;
    int i = offset;
    for (; i + 4 <= end; i += 4) {
      float v0 = x[i] * factor;
      float v1 = x[i + 1] * factor;
      float v2 = x[i + 2] * factor;
      float v3 = x[i + 3] * factor;
      x[i] = v0;
      x[i + 1] = v1;
      x[i + 2] = v2;
      x[i + 3] = v3;
      m0 = Math.max(m0, v0);
      m1 = Math.max(m1, v1);
      m2 = Math.max(m2, v2);
      m3 = Math.max(m3, v3);
    }
    for (; i < end; i++) {
      x[i] *= factor;
      m0 = Math.max(m0, x[i]);
    }
    return Math.max(Math.max(m0, m1), Math.max(m2, m3));
  }

  static void scale(float[] x, int offset, int length, float factor) {
    for (int i = offset; i < offset + length; i++) {
      x[i] *= factor;
    }
  }
}
