package dev.rgemma.kernels;

import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.Floats;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Plain-Java reference kernels: the scalar twins that SIMD kernels are tested against. */
final class ScalarKernels implements KernelImpl {
  static final ScalarKernels INSTANCE = new ScalarKernels();

  private ScalarKernels() {}

  static final ValueLayout.OfFloat F32 =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfShort I16 =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  @Override
  public String name() {
    return "scalar";
  }

  static void matmul(WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset) {
    INSTANCE.matmulRows(w, x, xOffset, tokens, out, outOffset, 0, w.rows());
  }

  @Override
  public void matmulRows(
      WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset,
      int rowStart, int rowEnd) {
    int rows = w.rows();
    int cols = w.cols();
    float[] row = new float[cols];
    for (int r = rowStart; r < rowEnd; r++) {
      readRow(w, r, row, 0);
      for (int t = 0; t < tokens; t++) {
        int xBase = xOffset + t * cols;
        float sum = 0f;
        for (int c = 0; c < cols; c++) {
          sum += row[c] * x[xBase + c];
        }
        out[outOffset + t * rows + r] = sum;
      }
    }
  }

  @Override
  public void dotRows(
      float[] m, int mOffset, int rowStride, int cols, float[] x, int xOffset, int tokens,
      float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
    for (int r = rowStart; r < rowEnd; r++) {
      int row = mOffset + r * rowStride;
      for (int t = 0; t < tokens; t++) {
        int xBase = xOffset + t * cols;
        float sum = 0f;
        for (int c = 0; c < cols; c++) {
          sum = Math.fma(m[row + c], x[xBase + c], sum);
        }
        out[outOffset + t * outStride + r] = sum;
      }
    }
  }

  @Override
  public void rowsTimesColumnGroups(
      float[] a, int aOffset, int aStride, int rows, int inner, float[] b, int bOffset, int groupStride, int cols,
      float[] out, int outOffset, int outStride, int groupStart, int groupEnd) {
    int width = Kernels.COLUMN_GROUP;
    for (int i = 0; i < rows; i++) {
      for (int j = width * groupStart; j < Math.min(cols, width * groupEnd); j++) {
        out[outOffset + i * outStride + j] = rowTimesColumn(
            a, aOffset + i * aStride, inner, b, bOffset + (j / width) * groupStride + j % width, width);
      }
    }
  }

  /** {@code sum_k a[aRow + k] * b[bColumn + k * bStride]}, one fused multiply-add chain in order. */
  static float rowTimesColumn(float[] a, int aRow, int inner, float[] b, int bColumn, int bStride) {
    float sum = 0f;
    for (int k = 0; k < inner; k++) {
      sum = Math.fma(a[aRow + k], b[bColumn + k * bStride], sum);
    }
    return sum;
  }

  @Override
  public void exp(float[] x, int from, int to) {
    for (int i = from; i < to; i++) {
      x[i] = exp(x[i]);
    }
  }

  @Override
  public void softCap(float[] x, int from, int to, float cap) {
    for (int i = from; i < to; i++) {
      x[i] = softCap(x[i], cap);
    }
  }

  /** Taylor coefficients of tanh(y) / y - 1 in powers of y^2: -1/3, 2/15, -17/315, ... */
  static final float TANH3 = -1f / 3f;
  static final float TANH5 = 2f / 15f;
  static final float TANH7 = -17f / 315f;
  static final float TANH9 = 62f / 2835f;
  static final float TANH11 = -1382f / 155925f;
  static final float TANH13 = 21844f / 6081075f;
  static final float TANH15 = -929569f / 638512875f;

  /** {@code cap * tanh(x / cap)}; see {@link KernelImpl#softCap}. */
  static float softCap(float x, float cap) {
    float y = x / cap;
    float a = Math.abs(y);
    float t; // tanh |y|, then the sign of y
    if (a < 0.5f) {
      float a2 = a * a;
      float p = Math.fma(TANH15, a2, TANH13);
      p = Math.fma(p, a2, TANH11);
      p = Math.fma(p, a2, TANH9);
      p = Math.fma(p, a2, TANH7);
      p = Math.fma(p, a2, TANH5);
      p = Math.fma(p, a2, TANH3);
      t = Math.fma(p * a2, a, a);
    } else {
      t = 1f - 2f / (exp(2f * a) + 1f);
    }
    return Math.copySign(t, y) * cap;
  }

  static final float EXP_MAX = 88.3f; // above: +inf (exp(88.3) < Float.MAX_VALUE)
  static final float EXP_MIN = -87.3f; // below: 0 (exp(-87.3) is about Float.MIN_NORMAL)
  static final float LOG2E = 1.44269504f;
  /** 1.5 * 2^23: adding it rounds to an integer, which then sits in the low mantissa bits. */
  static final float ROUNDER = 12582912f;
  static final float LN2_HI = 0.693145751953125f; // ln 2 = LN2_HI + LN2_LO, LN2_HI exact in few bits
  static final float LN2_LO = 1.42860682e-6f;
  static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

  /**
   * exp in float32 from fixed operations — {@code x = k ln2 + r}, {@code |r| <= ln2 / 2}, a
   * degree-7 polynomial for {@code e^r}, times {@code 2^k} — written the same way as the Vector API
   * version, so the two agree bit for bit whatever the JIT does (the Vector API's own EXP may give
   * other bits before and after compilation). Within about 2 ulps of {@code Math.exp}.
   */
  static float exp(float x) {
    if (x > EXP_MAX) {
      return Float.POSITIVE_INFINITY;
    }
    if (x < EXP_MIN) {
      return 0f;
    }
    float t = Math.fma(x, LOG2E, ROUNDER);
    float k = t - ROUNDER;
    float r = Math.fma(k, -LN2_HI, x);
    r = Math.fma(k, -LN2_LO, r);
    float p = Math.fma(C7, r, C6);
    p = Math.fma(p, r, C5);
    p = Math.fma(p, r, C4);
    p = Math.fma(p, r, C3);
    p = Math.fma(p, r, C2);
    p = Math.fma(p, r, 1f);
    p = Math.fma(p, r, 1f);
    int bits = (Float.floatToRawIntBits(t) - (Float.floatToRawIntBits(ROUNDER) - 127)) << 23;
    return p * Float.intBitsToFloat(bits);
  }

  @Override
  public void geluTanh(float[] x, int from, int to) {
    for (int i = from; i < to; i++) {
      x[i] = gelu(x[i]);
    }
  }

  @Override
  public void geluProduct(float[] gate, int g, float[] gateBias, float[] up, int u, float[] upBias, int b, int count) {
    for (int i = 0; i < count; i++) {
      gate[g + i] = gelu(gate[g + i] + gateBias[b + i]) * (up[u + i] + upBias[b + i]);
    }
  }

  /** GELU (tanh approximation) in float32 with {@link #exp(float)}; see {@link KernelImpl#geluTanh}. */
  static float gelu(float x) {
    float z = (x * x * x * 0.044715f + x) * (-2f * 0.7978845608f);
    return x / (exp(z) + 1f);
  }

  @Override
  public void readRow(WeightMatrix w, int row, float[] out, int offset) {
    readRow(w, row, 0, w.cols(), out, offset);
  }

  @Override
  public int groupRows() {
    return 16;
  }

  @Override
  public void matmulPacked(
      PackedMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset,
      int groupStart, int groupEnd) {
    int rows = w.rows();
    int cols = w.cols();
    int rowEnd = Math.min(rows, groupEnd * w.groupRows());
    if (w.dtype() == DType.Q4_0) {
      Q8Activations a = Q8Activations.of(x, xOffset, tokens, cols);
      matmulQ4(w, a, out, outOffset, groupStart, groupEnd);
      return;
    }
    if (w.dtype() == DType.Q8_0) {
      quantizedPacked(w, x, xOffset, tokens, out, outOffset, groupStart * w.groupRows(), rowEnd);
      return;
    }
    float[] row = new float[cols];
    for (int r = groupStart * w.groupRows(); r < rowEnd; r++) {
      readPackedRow(w, r, row, 0);
      for (int t = 0; t < tokens; t++) {
        int xBase = xOffset + t * cols;
        float sum = 0f;
        for (int c = 0; c < cols; c++) {
          sum = Math.fma(row[c], x[xBase + c], sum);
        }
        out[outOffset + t * rows + r] = sum;
      }
    }
  }

  @Override
  public void matmulQ4(PackedMatrix w, Q8Activations a, float[] out, int outOffset, int groupStart, int groupEnd) {
    int g = w.groupRows();
    int rows = w.rows();
    int cols = w.cols();
    int blocks = cols / 32;
    int[] nibbles = new int[cols];
    float[] scales = new float[blocks];
    int rowEnd = Math.min(rows, groupEnd * g);
    for (int r = groupStart * g; r < rowEnd; r++) {
      readQuantizedRow(w, r, nibbles, scales);
      for (int t = 0; t < a.tokens; t++) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
          int dot = 0;
          for (int c = 32 * b; c < 32 * b + 32; c++) {
            dot += nibbles[c] * a.values[t * cols + c];
          }
          dot -= 8 * a.sums[t * blocks + b];
          sum = Math.fma((float) dot, scales[b] * a.scales[t * blocks + b], sum);
        }
        out[outOffset + t * rows + r] = sum;
      }
    }
  }

  /**
   * Q8_0 block by block, as the Vector API kernel: per 32-column block, the int8 values times x in
   * a fused chain from zero, times the block's scale, fused into the row's running sum.
   */
  private static void quantizedPacked(
      PackedMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset, int rowStart, int rowEnd) {
    int rows = w.rows();
    int cols = w.cols();
    int blocks = cols / 32;
    int[] quants = new int[cols];
    float[] scales = new float[blocks];
    for (int r = rowStart; r < rowEnd; r++) {
      readQuantizedRow(w, r, quants, scales);
      for (int t = 0; t < tokens; t++) {
        int xBase = xOffset + t * cols;
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
          float partial = 0f;
          for (int c = 32 * b; c < 32 * b + 32; c++) {
            partial = Math.fma((float) quants[c], x[xBase + c], partial);
          }
          sum = Math.fma(partial, scales[b], sum);
        }
        out[outOffset + t * rows + r] = sum;
      }
    }
  }

  /** Writes row {@code row} of a packed matrix, widened to float32, into {@code out[offset ..]}. */
  static void readPackedRow(PackedMatrix w, int row, float[] out, int offset) {
    MemorySegment data = w.data();
    int g = w.groupRows();
    int i = row % g;
    long base = (row / g) * w.groupBytes();
    int cols = w.cols();
    switch (w.dtype()) {
      case F32 -> {
        for (int c = 0; c < cols; c++) {
          out[offset + c] = data.get(F32, base + 4L * (c * g + i));
        }
      }
      case BF16 -> {
        for (int c = 0; c < cols; c++) {
          out[offset + c] = Floats.bf16ToFloat(data.get(I16, base + 4L * ((c / 2) * g + i) + 2L * (c % 2)));
        }
      }
      case F16 -> {
        for (int c = 0; c < cols; c++) {
          out[offset + c] = Floats.f16ToFloat(data.get(I16, base + 2L * (c * g + i)));
        }
      }
      case Q8_0, Q4_0 -> {
        int[] quants = new int[cols];
        float[] scales = new float[cols / 32];
        readQuantizedRow(w, row, quants, scales);
        int zero = w.dtype() == DType.Q4_0 ? 8 : 0; // Q4_0 stores q + 8
        for (int c = 0; c < cols; c++) {
          out[offset + c] = scales[c / 32] * (quants[c] - zero);
        }
      }
    }
  }

  /**
   * Row {@code row} of a packed Q8_0/Q4_0 matrix as stored: its values ({@code quants[c]}, Q8_0 int8,
   * Q4_0 the nibble 0..15, i.e. q + 8) and its block scales ({@code scales[b]}).
   */
  static void readQuantizedRow(PackedMatrix w, int row, int[] quants, float[] scales) {
    MemorySegment data = w.data();
    int g = w.groupRows();
    int i = row % g;
    long values = w.valueStart(row / g);
    long scaleStart = w.scaleStart(row / g);
    boolean q4 = w.dtype() == DType.Q4_0;
    for (int b = 0; b < w.cols() / 32; b++) {
      long block = values + b * w.quantBytes();
      scales[b] = Floats.f16ToFloat(data.get(I16, scaleStart + 2L * ((long) g * b + i)));
      if (q4) {
        for (int j = 0; j < 16; j++) {
          int packed = data.get(ValueLayout.JAVA_BYTE, block + PackedMatrix.q4Byte(j, g, i)) & 0xFF;
          quants[32 * b + 2 * j] = packed & 0x0F;
          quants[32 * b + 2 * j + 1] = packed >>> 4;
        }
      } else {
        for (int j = 0; j < 32; j++) {
          quants[32 * b + j] = data.get(ValueLayout.JAVA_BYTE, block + (long) j * g + i);
        }
      }
    }
  }

  /**
   * Widens {@code w[row, colStart .. colEnd)} into {@code out[offset ..]}; for quantized types the
   * column bounds are multiples of 32.
   */
  static void readRow(WeightMatrix w, int row, int colStart, int colEnd, float[] out, int offset) {
    MemorySegment data = w.data();
    long base = row * w.rowBytes();
    switch (w.dtype()) {
      case F32 -> {
        for (int c = colStart; c < colEnd; c++) {
          out[offset + c - colStart] = data.get(F32, base + 4L * c);
        }
      }
      case BF16 -> {
        for (int c = colStart; c < colEnd; c++) {
          out[offset + c - colStart] = Floats.bf16ToFloat(data.get(I16, base + 2L * c));
        }
      }
      case F16 -> {
        for (int c = colStart; c < colEnd; c++) {
          out[offset + c - colStart] = Floats.f16ToFloat(data.get(I16, base + 2L * c));
        }
      }
      case Q8_0 -> {
        for (int b = colStart / 32; b < colEnd / 32; b++) {
          long block = base + 34L * b;
          float scale = Floats.f16ToFloat(data.get(I16, block));
          int o = offset + b * 32 - colStart;
          for (int i = 0; i < 32; i++) {
            out[o + i] = scale * data.get(ValueLayout.JAVA_BYTE, block + 2 + i);
          }
        }
      }
      case Q4_0 -> {
        for (int b = colStart / 32; b < colEnd / 32; b++) {
          long block = base + 18L * b;
          float scale = Floats.f16ToFloat(data.get(I16, block));
          int o = offset + b * 32 - colStart;
          for (int i = 0; i < 16; i++) {
            int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + i) & 0xFF;
            out[o + i] = scale * ((packed & 0x0F) - 8);
            out[o + i + 16] = scale * ((packed >>> 4) - 8);
          }
        }
      }
    }
  }

  @Override
  public float sumFloats(MemorySegment data, long offset, long bytes) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    long end = offset + bytes;
    long i = offset;
    for (; i + 16 <= end; i += 16) {
      s0 += data.get(F32, i);
      s1 += data.get(F32, i + 4);
      s2 += data.get(F32, i + 8);
      s3 += data.get(F32, i + 12);
    }
    for (; i < end; i += 4) {
      s0 += data.get(F32, i);
    }
    return s0 + s1 + s2 + s3;
  }

  @Override
  public float fmaChains(long iterations, float seed) {
    float a0 = seed, a1 = seed + 1, a2 = seed + 2, a3 = seed + 3;
    float a4 = seed + 4, a5 = seed + 5, a6 = seed + 6, a7 = seed + 7;
    float m = 0.999f;
    float c = 1e-3f;
    for (long i = 0; i < iterations; i++) {
      a0 = Math.fma(a0, m, c);
      a1 = Math.fma(a1, m, c);
      a2 = Math.fma(a2, m, c);
      a3 = Math.fma(a3, m, c);
      a4 = Math.fma(a4, m, c);
      a5 = Math.fma(a5, m, c);
      a6 = Math.fma(a6, m, c);
      a7 = Math.fma(a7, m, c);
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  }

  @Override
  public long fmaFlopsPerIteration() {
    return 2 * 8;
  }
}
