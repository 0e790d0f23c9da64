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
  /**
   * Per token, block and pair of packed byte columns ({@code p < 8}; bytes 2p and 2p + 1 hold
   * columns 4p .. 4p + 3): two 32-bit words of two 16-bit values, broadcast and viewed as 16-bit
   * lanes they line up with a row's two bytes widened to 16 bits. The first holds the low nibbles'
   * inputs {@code a} (columns 4p, 4p + 2), the second {@code b - 16 a}, with {@code b} the high
   * nibbles' inputs (4p + 1, 4p + 3): a whole byte {@code lo + 16 hi} times {@code a} plus {@code
   * hi} times {@code b - 16 a} is {@code lo * a + hi * b}, one masking fewer per byte. (The 16-bit
   * lanes wrap in between, but a block's true sum fits in 16 bits, so the wrapped sum is exact.)
   * [tokens, blocks, 8, 2].
   */
  final int[] pairWords;

  Q8Activations(int tokens, int cols) {
    this.tokens = tokens;
    this.cols = cols;
    this.blocks = cols / 32;
    this.values = new byte[tokens * cols];
    this.scales = new float[tokens * blocks];
    this.sums = new int[tokens * blocks];
    this.pairWords = new int[tokens * blocks * 16];
  }

  /**
   * Quantizes {@code x[xOffset ..]}, {@code [tokens, cols]} with cols a multiple of 32 (the scalar
   * reference; {@link KernelImpl#quantize} gives the same bits): per block, {@code q = x * 127 /
   * max|x|} rounded half away from zero (as llama.cpp's {@code roundf}).
   */
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
          int q = round(x[base + c] * inverse);
          a.values[t * cols + 32 * b + c] = (byte) q;
          sum += q;
        }
        a.scales[t * a.blocks + b] = scale;
        a.sums[t * a.blocks + b] = sum;
        a.pairWords(t, b);
      }
    }
    return a;
  }

  /** {@code v} rounded half away from zero, clamped to [-127, 127]. */
  static int round(float v) {
    return Math.clamp((int) (v + Math.copySign(0.5f, v)), -127, 127);
  }

  /** Fills {@link #pairWords} of token t, block b from {@link #values}. */
  void pairWords(int t, int b) {
    int v = t * cols + 32 * b;
    for (int p = 0; p < 8; p++) {
      int w = (t * blocks + b) * 16 + 2 * p;
      int lo0 = values[v + 4 * p];
      int lo1 = values[v + 4 * p + 2];
      int mixed0 = values[v + 4 * p + 1] - 16 * lo0;
      int mixed1 = values[v + 4 * p + 3] - 16 * lo1;
      pairWords[w] = (lo0 & 0xFFFF) | lo1 << 16;
      pairWords[w + 1] = (mixed0 & 0xFFFF) | mixed1 << 16;
    }
  }
}
