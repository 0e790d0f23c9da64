package dev.rgemma.kernels;

import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernels; the only class in rgemma that imports {@code jdk.incubator.vector}.
 *
 * <p>Decode ({@code tokens == 1}) streams each weight row once, widening it in registers and
 * multiplying it with the input (memory-bound: the aim is to keep up with DRAM). Prefill ({@code
 * tokens > 1}) is a matrix-matrix product: a panel of weight rows is widened to float32 once per
 * call into a per-thread buffer that stays in L2, then multiplied with the tokens by a 4-row x
 * 3-token register-blocked micro-kernel (12 accumulators, 7 loads per 12 FMAs).
 */
final class VectorKernels implements KernelImpl {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int L = F.length();
  private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
  private static final VectorSpecies<Short> S =
      VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, L * 16)));
  private static final VectorSpecies<Byte> B =
      VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  /** Float32 bytes of one thread's weight panel: comfortably inside a 1-2 MiB L2. */
  private static final int PANEL_BYTES = 256 * 1024;

  private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[0]);

  VectorKernels() {
    if (L != 8 && L != 16) {
      // The quantized kernels split a 32-element block into 32 / L vectors of L byte lanes.
      throw new UnsupportedOperationException(
          "preferred float vector has " + L + " lanes; the kernels need 8 or 16");
    }
  }

  @Override
  public String name() {
    return "vector " + F.vectorBitSize() + "-bit";
  }

  @Override
  public void readRow(WeightMatrix w, int row, float[] out, int offset) {
    decode(w, row, 0, w.cols(), out, offset);
  }

  @Override
  public void matmulRows(
      WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset,
      int rowStart, int rowEnd) {
    if (tokens == 1) {
      for (int r = rowStart; r < rowEnd; r++) {
        out[outOffset + r] = dot(w, r, x, xOffset);
      }
      return;
    }
    int cols = w.cols();
    int panelRows = Math.max(4, PANEL_BYTES / (4 * cols) / 4 * 4);
    float[] panel = PANEL.get();
    if (panel.length < panelRows * cols) {
      panel = new float[panelRows * cols];
      PANEL.set(panel);
    }
    for (int p = rowStart; p < rowEnd; p += panelRows) {
      int pEnd = Math.min(rowEnd, p + panelRows);
      for (int r = p; r < pEnd; r++) {
        decode(w, r, 0, cols, panel, (r - p) * cols);
      }
      multiplyPanel(panel, p, pEnd - p, cols, w.rows(), x, xOffset, tokens, out, outOffset);
    }
  }

  /** out[t, firstRow + i] = panel[i, :] . x[t, :] for i < panelRows and all tokens. */
  private static void multiplyPanel(
      float[] panel, int firstRow, int panelRows, int cols, int rows, float[] x, int xOffset,
      int tokens, float[] out, int outOffset) {
    int t = 0;
    for (; t + 3 <= tokens; t += 3) {
      int i = 0;
      for (; i + 4 <= panelRows; i += 4) {
        kernel4x3(panel, i * cols, cols, x, xOffset + t * cols, out, outOffset + t * rows + firstRow + i, rows);
      }
      for (; i < panelRows; i++) {
        for (int u = t; u < t + 3; u++) {
          out[outOffset + u * rows + firstRow + i] = dot(panel, i * cols, x, xOffset + u * cols, cols);
        }
      }
    }
    for (; t < tokens; t++) {
      for (int i = 0; i < panelRows; i++) {
        out[outOffset + t * rows + firstRow + i] = dot(panel, i * cols, x, xOffset + t * cols, cols);
      }
    }
  }

  /** Four weight rows (stride cols) times three tokens (stride cols); outputs at stride rows. */
  private static void kernel4x3(
      float[] w, int w0, int cols, float[] x, int x0, float[] out, int o, int rows) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00;
    int w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
    int x1 = x0 + cols, x2 = x1 + cols;
    int upper = F.loopBound(cols);
    int c = 0;
    for (; c < upper; c += L) {
      FloatVector v0 = FloatVector.fromArray(F, w, w0 + c);
      FloatVector v1 = FloatVector.fromArray(F, w, w1 + c);
      FloatVector v2 = FloatVector.fromArray(F, w, w2 + c);
      FloatVector v3 = FloatVector.fromArray(F, w, w3 + c);
      FloatVector u = FloatVector.fromArray(F, x, x0 + c);
      a00 = v0.fma(u, a00);
      a10 = v1.fma(u, a10);
      a20 = v2.fma(u, a20);
      a30 = v3.fma(u, a30);
      u = FloatVector.fromArray(F, x, x1 + c);
      a01 = v0.fma(u, a01);
      a11 = v1.fma(u, a11);
      a21 = v2.fma(u, a21);
      a31 = v3.fma(u, a31);
      u = FloatVector.fromArray(F, x, x2 + c);
      a02 = v0.fma(u, a02);
      a12 = v1.fma(u, a12);
      a22 = v2.fma(u, a22);
      a32 = v3.fma(u, a32);
    }
    float[] s = {
      a00.reduceLanes(VectorOperators.ADD), a01.reduceLanes(VectorOperators.ADD),
      a02.reduceLanes(VectorOperators.ADD), a10.reduceLanes(VectorOperators.ADD),
      a11.reduceLanes(VectorOperators.ADD), a12.reduceLanes(VectorOperators.ADD),
      a20.reduceLanes(VectorOperators.ADD), a21.reduceLanes(VectorOperators.ADD),
      a22.reduceLanes(VectorOperators.ADD), a30.reduceLanes(VectorOperators.ADD),
      a31.reduceLanes(VectorOperators.ADD), a32.reduceLanes(VectorOperators.ADD)
    };
    for (; c < cols; c++) {
      for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 3; j++) {
          s[i * 3 + j] += w[w0 + i * cols + c] * x[x0 + j * cols + c];
        }
      }
    }
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 3; j++) {
        out[o + j * rows + i] = s[i * 3 + j];
      }
    }
  }

  private static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
    FloatVector s0 = FloatVector.zero(F), s1 = s0;
    int upper2 = n - n % (2 * L);
    int c = 0;
    for (; c < upper2; c += 2 * L) {
      s0 = FloatVector.fromArray(F, a, aOffset + c).fma(FloatVector.fromArray(F, b, bOffset + c), s0);
      s1 = FloatVector.fromArray(F, a, aOffset + c + L).fma(FloatVector.fromArray(F, b, bOffset + c + L), s1);
    }
    for (; c < F.loopBound(n); c += L) {
      s0 = FloatVector.fromArray(F, a, aOffset + c).fma(FloatVector.fromArray(F, b, bOffset + c), s0);
    }
    float sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
    for (; c < n; c++) {
      sum += a[aOffset + c] * b[bOffset + c];
    }
    return sum;
  }

  // ---- decode: one weight row times one token, straight from the weight bytes ----

  private static float dot(WeightMatrix w, int row, float[] x, int xOffset) {
    MemorySegment data = w.data();
    long base = row * w.rowBytes();
    int cols = w.cols();
    return switch (w.dtype()) {
      case F32 -> dotF32(data, base, x, xOffset, cols);
      case BF16 -> dotBf16(data, base, x, xOffset, cols);
      case F16 -> dotF16(data, base, x, xOffset, cols);
      case Q8_0 -> dotQ8(data, base, x, xOffset, cols / 32);
      case Q4_0 -> dotQ4(data, base, x, xOffset, cols / 32);
    };
  }

  private static float dotF32(MemorySegment data, long base, float[] x, int xo, int cols) {
    FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
    int upper4 = cols - cols % (4 * L);
    int c = 0;
    for (; c < upper4; c += 4 * L) {
      long b = base + 4L * c;
      s0 = FloatVector.fromMemorySegment(F, data, b, LE).fma(FloatVector.fromArray(F, x, xo + c), s0);
      s1 = FloatVector.fromMemorySegment(F, data, b + 4L * L, LE).fma(FloatVector.fromArray(F, x, xo + c + L), s1);
      s2 = FloatVector.fromMemorySegment(F, data, b + 8L * L, LE).fma(FloatVector.fromArray(F, x, xo + c + 2 * L), s2);
      s3 = FloatVector.fromMemorySegment(F, data, b + 12L * L, LE).fma(FloatVector.fromArray(F, x, xo + c + 3 * L), s3);
    }
    for (; c < F.loopBound(cols); c += L) {
      s0 = FloatVector.fromMemorySegment(F, data, base + 4L * c, LE).fma(FloatVector.fromArray(F, x, xo + c), s0);
    }
    float sum = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    for (; c < cols; c++) {
      sum += data.get(ScalarKernels.F32, base + 4L * c) * x[xo + c];
    }
    return sum;
  }

  private static float dotBf16(MemorySegment data, long base, float[] x, int xo, int cols) {
    FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
    int upper4 = cols - cols % (4 * L);
    int c = 0;
    for (; c < upper4; c += 4 * L) {
      long b = base + 2L * c;
      s0 = bf16(data, b).fma(FloatVector.fromArray(F, x, xo + c), s0);
      s1 = bf16(data, b + 2L * L).fma(FloatVector.fromArray(F, x, xo + c + L), s1);
      s2 = bf16(data, b + 4L * L).fma(FloatVector.fromArray(F, x, xo + c + 2 * L), s2);
      s3 = bf16(data, b + 6L * L).fma(FloatVector.fromArray(F, x, xo + c + 3 * L), s3);
    }
    for (; c < F.loopBound(cols); c += L) {
      s0 = bf16(data, base + 2L * c).fma(FloatVector.fromArray(F, x, xo + c), s0);
    }
    float sum = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    for (; c < cols; c++) {
      sum += Float.intBitsToFloat((data.get(ScalarKernels.I16, base + 2L * c) & 0xFFFF) << 16) * x[xo + c];
    }
    return sum;
  }

  private static float dotF16(MemorySegment data, long base, float[] x, int xo, int cols) {
    FloatVector s0 = FloatVector.zero(F), s1 = s0;
    int upper2 = cols - cols % (2 * L);
    int c = 0;
    for (; c < upper2; c += 2 * L) {
      long b = base + 2L * c;
      s0 = f16(data, b).fma(FloatVector.fromArray(F, x, xo + c), s0);
      s1 = f16(data, b + 2L * L).fma(FloatVector.fromArray(F, x, xo + c + L), s1);
    }
    for (; c < F.loopBound(cols); c += L) {
      s0 = f16(data, base + 2L * c).fma(FloatVector.fromArray(F, x, xo + c), s0);
    }
    float sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
    for (; c < cols; c++) {
      sum += Float.float16ToFloat(data.get(ScalarKernels.I16, base + 2L * c)) * x[xo + c];
    }
    return sum;
  }

  /** Q8_0: per 32-element block, (sum_i q_i x_i) * scale; two blocks per step for ILP. */
  private static float dotQ8(MemorySegment data, long base, float[] x, int xo, int blocks) {
    FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
    long end = base + 34L * (blocks - blocks % 2);
    int xi = xo;
    for (long block = base; block < end; block += 68, xi += 64) {
      acc0 = q8Block(data, block, x, xi, acc0);
      acc1 = q8Block(data, block + 34, x, xi + 32, acc1);
    }
    if (blocks % 2 != 0) {
      acc0 = q8Block(data, end, x, xi, acc0);
    }
    return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
  }

  private static FloatVector q8Block(MemorySegment data, long block, float[] x, int xo, FloatVector acc) {
    float scale = Float.float16ToFloat(data.get(ScalarKernels.I16, block));
    FloatVector s = bytesToFloats(ByteVector.fromMemorySegment(B, data, block + 2, LE))
        .mul(FloatVector.fromArray(F, x, xo));
    for (int j = L; j < 32; j += L) {
      s = bytesToFloats(ByteVector.fromMemorySegment(B, data, block + 2 + j, LE))
          .fma(FloatVector.fromArray(F, x, xo + j), s);
    }
    return s.fma(FloatVector.broadcast(F, scale), acc);
  }

  /** Q4_0: byte i of a block holds elements i (low nibble) and i + 16 (high nibble), offset by 8. */
  private static float dotQ4(MemorySegment data, long base, float[] x, int xo, int blocks) {
    FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
    long end = base + 18L * (blocks - blocks % 2);
    int xi = xo;
    for (long block = base; block < end; block += 36, xi += 64) {
      acc0 = q4Block(data, block, x, xi, acc0);
      acc1 = q4Block(data, block + 18, x, xi + 32, acc1);
    }
    if (blocks % 2 != 0) {
      acc0 = q4Block(data, end, x, xi, acc0);
    }
    return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
  }

  private static FloatVector q4Block(MemorySegment data, long block, float[] x, int xo, FloatVector acc) {
    FloatVector scale = FloatVector.broadcast(F, Float.float16ToFloat(data.get(ScalarKernels.I16, block)));
    FloatVector s = FloatVector.zero(F);
    for (int j = 0; j < 16; j += L) {
      // Nibbles are split in 32-bit lanes: x86 has no byte shifts, so byte-lane shifts are slow.
      IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, block + 2 + j, LE)
          .convertShape(VectorOperators.B2I, I, 0);
      FloatVector low = packed.and(0x0F).sub(8).convert(VectorOperators.I2F, 0).reinterpretAsFloats();
      FloatVector high = packed.lanewise(VectorOperators.ASHR, 4).and(0x0F).sub(8)
          .convert(VectorOperators.I2F, 0).reinterpretAsFloats();
      s = low.fma(FloatVector.fromArray(F, x, xo + j), s);
      s = high.fma(FloatVector.fromArray(F, x, xo + 16 + j), s);
    }
    return s.fma(scale, acc);
  }

  // ---- widening ----

  /** Widens {@code w[row, colStart .. colEnd)} to float32 (quantized: bounds multiples of 32). */
  private static void decode(WeightMatrix w, int row, int colStart, int colEnd, float[] out, int offset) {
    MemorySegment data = w.data();
    long base = row * w.rowBytes();
    int n = colEnd - colStart;
    int vectorEnd = colStart + F.loopBound(n);
    switch (w.dtype()) {
      case F32 -> {
        for (int c = colStart; c < vectorEnd; c += L) {
          FloatVector.fromMemorySegment(F, data, base + 4L * c, LE).intoArray(out, offset + c - colStart);
        }
      }
      case BF16 -> {
        for (int c = colStart; c < vectorEnd; c += L) {
          bf16(data, base + 2L * c).intoArray(out, offset + c - colStart);
        }
      }
      case F16 -> {
        for (int c = colStart; c < vectorEnd; c += L) {
          f16(data, base + 2L * c).intoArray(out, offset + c - colStart);
        }
      }
      case Q8_0 -> {
        for (int b = colStart / 32; b < colEnd / 32; b++) {
          long block = base + 34L * b;
          FloatVector scale = FloatVector.broadcast(F, Float.float16ToFloat(data.get(ScalarKernels.I16, block)));
          int o = offset + 32 * b - colStart;
          for (int j = 0; j < 32; j += L) {
            bytesToFloats(ByteVector.fromMemorySegment(B, data, block + 2 + j, LE)).mul(scale).intoArray(out, o + j);
          }
        }
        return;
      }
      case Q4_0 -> {
        for (int b = colStart / 32; b < colEnd / 32; b++) {
          long block = base + 18L * b;
          FloatVector scale = FloatVector.broadcast(F, Float.float16ToFloat(data.get(ScalarKernels.I16, block)));
          int o = offset + 32 * b - colStart;
          for (int j = 0; j < 16; j += L) {
            ByteVector packed = ByteVector.fromMemorySegment(B, data, block + 2 + j, LE);
            bytesToFloats(packed.and((byte) 0x0F).sub((byte) 8)).mul(scale).intoArray(out, o + j);
            bytesToFloats(packed.lanewise(VectorOperators.LSHR, 4).sub((byte) 8)).mul(scale).intoArray(out, o + 16 + j);
          }
        }
        return;
      }
    }
    if (vectorEnd < colEnd) {
      ScalarKernels.readRow(w, row, vectorEnd, colEnd, out, offset + vectorEnd - colStart);
    }
  }

  private static FloatVector bytesToFloats(ByteVector bytes) {
    return (FloatVector) bytes.convertShape(VectorOperators.B2F, F, 0);
  }

  /** bfloat16 is the upper half of a float32: sign-extend to int, shift left 16. */
  private static FloatVector bf16(MemorySegment data, long offset) {
    ShortVector bits = ShortVector.fromMemorySegment(S, data, offset, LE);
    return ((IntVector) bits.convertShape(VectorOperators.S2I, I, 0))
        .lanewise(VectorOperators.LSHL, 16)
        .reinterpretAsFloats();
  }

  /**
   * IEEE half to float: move exponent and mantissa into float position and multiply by 2^112 to
   * re-bias the exponent (exact, and it also normalizes subnormals); infinities and NaNs get the
   * float32 all-ones exponent instead.
   */
  private static FloatVector f16(MemorySegment data, long offset) {
    IntVector half = (IntVector) ShortVector.fromMemorySegment(S, data, offset, LE)
        .convertShape(VectorOperators.S2I, I, 0);
    IntVector magnitude = half.and(0x7FFF);
    IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
    IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
    VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7C00);
    IntVector bits = finite.blend(shifted.or(0x7F800000), special);
    return bits.or(half.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
  }

  // ---- machine probe loops ----

  @Override
  public float sumFloats(MemorySegment data, long offset, long bytes) {
    FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
    long step = 4L * F.vectorByteSize();
    long end = offset + bytes - bytes % step;
    long i = offset;
    for (; i < end; i += step) {
      s0 = s0.add(FloatVector.fromMemorySegment(F, data, i, LE));
      s1 = s1.add(FloatVector.fromMemorySegment(F, data, i + F.vectorByteSize(), LE));
      s2 = s2.add(FloatVector.fromMemorySegment(F, data, i + 2L * F.vectorByteSize(), LE));
      s3 = s3.add(FloatVector.fromMemorySegment(F, data, i + 3L * F.vectorByteSize(), LE));
    }
    float sum = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    for (; i < offset + bytes; i += 4) {
      sum += data.get(ScalarKernels.F32, i);
    }
    return sum;
  }

  /** Twelve independent chains: enough to cover FMA latency (4 cycles) on two FMA ports. */
  @Override
  public float fmaChains(long iterations, float seed) {
    FloatVector a0 = FloatVector.broadcast(F, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
    FloatVector a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7);
    FloatVector a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
    FloatVector m = FloatVector.broadcast(F, 0.999f);
    FloatVector c = FloatVector.broadcast(F, 1e-3f);
    for (long i = 0; i < iterations; i++) {
      a0 = a0.fma(m, c);
      a1 = a1.fma(m, c);
      a2 = a2.fma(m, c);
      a3 = a3.fma(m, c);
      a4 = a4.fma(m, c);
      a5 = a5.fma(m, c);
      a6 = a6.fma(m, c);
      a7 = a7.fma(m, c);
      a8 = a8.fma(m, c);
      a9 = a9.fma(m, c);
      a10 = a10.fma(m, c);
      a11 = a11.fma(m, c);
    }
    return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10)
        .add(a11).reduceLanes(VectorOperators.ADD);
  }

  @Override
  public long fmaFlopsPerIteration() {
    return 2L * 12 * L;
  }
}
