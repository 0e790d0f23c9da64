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
        double sumSquares = 0;
        for (int j = 0; j < n; j++) {
          float v = x[base + j];
          sumSquares += v * v;
        }
        float inverse = (float) (1.0 / Math.sqrt((float) (sumSquares / n) + eps));
        for (int j = 0; j < n; j++) {
          out[base + j] = x[base + j] * inverse * (1f + weight[j]);
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

  /** {@code x[i] = exp(x[i] - max)} on a range; returns the sum. exp(-inf) = 0 masks entries. */
  static float expInPlace(float[] x, int offset, int length, float max) {
    for (int i = offset; i < offset + length; i++) {
      x[i] -= max;
    }
    dev.rgemma.kernels.Kernels.exp(x, offset, offset + length);
    float sum = 0f;
    for (int i = offset; i < offset + length; i++) {
      sum += x[i];
    }
    return sum;
  }

  static void scale(float[] x, int offset, int length, float factor) {
    for (int i = offset; i < offset + length; i++) {
      x[i] *= factor;
    }
  }
}
