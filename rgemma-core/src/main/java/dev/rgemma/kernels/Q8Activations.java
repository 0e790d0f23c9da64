package dev.rgemma.kernels;

/**
 * The input of a Q4_0 product quantized once per call, as llama.cpp does for its Q4_0 dot
 * products: each 32-column block of each token becomes 32 int8 values and a float32 scale ({@code
 * max |x| / 127}), so that the kernels multiply 4-bit weights with 8-bit inputs in 16-bit integer
 * lanes (exact) and convert to float once per block. Both implementations use the same quantized
 * values, so their results agree bit for bit.
 */
final class Q8Activations {
  final int tokens;
  final int cols;
  final int blocks;
  /** [tokens, cols] int8 values. */
  final byte[] values;
  /** [tokens, blocks] float32 scales. */
  final float[] scales;
  /** [tokens, blocks] sums of the block's int8 values (for the Q4_0 offset of 8). */
  final int[] sums;
  /** The values laid out for the vector kernel (see {@link #pairPatterns}), or null. */
  short[] patterns;

  private Q8Activations(int tokens, int cols) {
    this.tokens = tokens;
    this.cols = cols;
    this.blocks = cols / 32;
    this.values = new byte[tokens * cols];
    this.scales = new float[tokens * blocks];
    this.sums = new int[tokens * blocks];
  }

  /** Quantizes {@code x[xOffset ..]}, {@code [tokens, cols]} with cols a multiple of 32. */
  static Q8Activations of(float[] x, int xOffset, int tokens, int cols) {
    Q8Activations a = new Q8Activations(tokens, cols);
    for (int t = 0; t < tokens; t++) {
      for (int b = 0; b < a.blocks; b++) {
        int base = xOffset + t * cols + 32 * b;
        float max = 0f;
        for (int c = 0; c < 32; c++) {
          max = Math.max(max, Math.abs(x[base + c]));
        }
        float scale = max / 127f;
        float inverse = max == 0f ? 0f : 127f / max;
        int sum = 0;
        for (int c = 0; c < 32; c++) {
          int q = Math.clamp(Math.round(x[base + c] * inverse), -127, 127);
          a.values[t * cols + 32 * b + c] = (byte) q;
          sum += q;
        }
        a.scales[t * a.blocks + b] = scale;
        a.sums[t * a.blocks + b] = sum;
      }
    }
    return a;
  }

  /**
   * Lays the values out for a kernel with {@code lanes} rows per group that loads two packed Q4_0
   * columns of bytes (j and j + 1, holding columns 2j, 2j + 1, 2j + 2, 2j + 3) into {@code 2 *
   * lanes} 16-bit lanes: per token, block and pair of byte columns ({@code jp < 8}), a pattern for
   * the low nibbles (lanes {@code < lanes}: column 4jp, the others: 4jp + 2) and one for the high
   * nibbles (4jp + 1, 4jp + 3), {@code 2 * lanes} shorts each.
   */
  void pairPatterns(int lanes) {
    int width = 2 * lanes;
    short[] p = new short[tokens * blocks * 8 * 2 * width];
    int at = 0;
    for (int t = 0; t < tokens; t++) {
      for (int b = 0; b < blocks; b++) {
        int base = t * cols + 32 * b;
        for (int jp = 0; jp < 8; jp++) {
          for (int half = 0; half < 2; half++) { // low nibbles, then high
            short first = values[base + 4 * jp + half];
            short second = values[base + 4 * jp + 2 + half];
            for (int i = 0; i < lanes; i++) {
              p[at + i] = first;
              p[at + lanes + i] = second;
            }
            at += width;
          }
        }
      }
    }
    patterns = p;
  }
}
