package dev.rgemma.kernels;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.MUL;

import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernels; the only class in rgemma that imports {@code jdk.incubator.vector}.
 *
 * <p>Packed matrices ({@link PackedMatrix}): decode ({@code tokens == 1}) streams each weight
 * once, widening it in registers and multiplying it with the input (memory-bound: the aim is to
 * keep up with DRAM). Prefill ({@code tokens > 1}) is a matrix-matrix product: a k-block of a
 * pair of row groups is widened to float32 into a per-thread panel that stays in cache, then
 * multiplied with the tokens (arranged by {@link #tileTokens}) by register-blocked micro-kernels
 * of 2 groups x 12, 4 or 1 tokens (24 accumulators, 2 loads and 12 broadcasts per 24 FMAs).
 * Row-major matrices ({@link WeightMatrix}) have kernels of their own (4 rows x 3 tokens).
 *
 * <p>How the code is written so that C2 compiles it the same way every time: past ~18000 nodes a
 * compile inlines the Vector API's methods late, so a vector's exact class is not yet known where
 * the next operation is dispatched, and C2 goes by the receiver profile of the call site. The
 * convenience methods declared once for every shape ({@code reinterpretAsInts}, {@code convert},
 * {@code ShortVector.add} and {@code mul}, ...) share one profile per process; when it held two
 * classes, a large kernel compiled from it kept its vectors boxed (the Q4_0 prefill fell ~15x in
 * about half of the processes that had run the Q4_0 decode first; BENCHMARKS.md, stop 24). Hence:
 * conversions name their species ({@code convertShape}, {@code reinterpretShape}) or stay within
 * one class ({@code viewAsFloatingLanes}), 16-bit arithmetic in the Q4_0 kernels calls {@code
 * lanewise(ADD / MUL, ..)} (a profile per call site), and all 16-bit arithmetic uses one species
 * (S2; S only loads half-precision bits to widen them).
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
  /** Two packed Q4_0 byte columns of a group (2L bytes), widened to 2L 16-bit lanes. */
  private static final VectorSpecies<Byte> B2 = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 16));
  private static final VectorSpecies<Short> S2 = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 32));

  /** Float32 bytes of one thread's weight panel: comfortably inside a 1-2 MiB L2. */
  private static final int PANEL_BYTES = 256 * 1024;

  /** Up to this many tokens per call, the decode kernels run once per token (see matmulRows). */
  static final int FEW_TOKENS = 4;

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
  public boolean touchesAhead() {
    return TOUCH;
  }

  @Override
  public void readRow(WeightMatrix w, int row, float[] out, int offset) {
    decode(w, row, 0, w.cols(), out, offset);
  }

  /**
   * Every output is computed the same way whatever the path, the number of tokens or the split of
   * rows over threads: one vector accumulator per (row, token) fed by {@code fma(w, x, acc)} over
   * the columns in order (weights widened exactly to float32: q * scale is exact), then {@link
   * #sum} and a scalar tail. So a token's logits do not depend on how a sequence is chunked.
   */
  @Override
  public void matmulRows(
      WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset,
      int rowStart, int rowEnd) {
    if (tokens <= FEW_TOKENS) {
      // A few tokens: each block of rows is read from memory once and, from L1, widened again
      // for every token; cheaper than widening the whole matrix into a float32 panel.
      for (int r = rowStart; r < rowEnd; r += 4) {
        for (int t = 0; t < tokens; t++) {
          decodeRows(w, r, Math.min(4, rowEnd - r), x, xOffset + t * w.cols(), out, outOffset + t * w.rows());
        }
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

  // ---- packed matrices (PackedMatrix): one FMA chain per output over the columns in order ----

  /** Columns of one k-block of the prefill panel: a multiple of 32 (quantized blocks). */
  private static final int KC = 256;

  private static final ThreadLocal<float[]> PACKED_PANEL = ThreadLocal.withInitial(() -> new float[2 * KC * L]);
  private static final ThreadLocal<float[]> PACKED_ACC = ThreadLocal.withInitial(() -> new float[0]);

  /**
   * Group pairs that share each k-block of the tokens in {@link #panelProduct}. Measured on the
   * development VM (one thread, bf16 [7680, 2560] x 256 tokens, interleaved in one process): 1 pair
   * (the whole input streamed from L3 once per pair) 139-142 GFLOP/s, 4 pairs 147-150, 8 pairs
   * 149-151, 16 pairs 149-152; [2560, 7680]: 4-8 pairs best, 32 pairs back to 140.
   */
  private static final int PAIRS_PER_BLOCK = 8;

  /**
   * How far ahead (bytes, per stream) the float decode loops touch the weights, where {@link
   * #TOUCH} says so. Each loop streams four row groups at once; a one-byte load this far ahead in
   * each stream starts its cache-line fetch early, which on the Intel development VM the hardware
   * prefetchers alone did not: the BF16 loop went from ~23 to ~27 GB/s over a 2 GB set, level with
   * a plain summing loop. On an AMD Zen 5 VM the same touches cut it from ~55 to ~40 GB/s (see
   * {@link TouchAhead}). The quantized loops never touch: measured on the Intel VM, Q4_0 was slower
   * with it, and Q8_0 (once its loop ran over all blocks at once) streamed faster without it (15.7
   * against 12.8 GB/s on one thread); on Zen 5 touching halved Q8_0 (43 against 22 GB/s).
   */
  private static final long AHEAD = 2048;

  /** Whether the float decode loops touch ahead ({@link TouchAhead}), decided once. */
  static final boolean TOUCH = TouchAhead.enabled();

  /** Where the touched bytes go now and then, so that the JIT cannot drop their loads. */
  @SuppressWarnings("unused")
  private static int touched;

  /**
   * Per-thread result buffer of the decode loops and the Q4_0 prefill (four groups, or two groups x
   * two tokens): taken anew on each call it was most of a Q4_0 token's heap allocation (JFR).
   */
  private static final ThreadLocal<float[]> GROUP_SUMS = ThreadLocal.withInitial(() -> new float[4 * L]);

  @Override
  public int groupRows() {
    return L;
  }

  @Override
  public void matmulPacked(
      PackedMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset,
      int groupStart, int groupEnd) {
    matmulPacked(w, x, xOffset, null, tokens, out, outOffset, groupStart, groupEnd);
  }

  @Override
  public void matmulPacked(
      PackedMatrix w, float[] x, int xOffset, float[] tiles, int tokens, float[] out, int outOffset,
      int groupStart, int groupEnd) {
    if (w.groupRows() != L) {
      ScalarKernels.INSTANCE.matmulPacked(w, x, xOffset, tokens, out, outOffset, groupStart, groupEnd);
      return;
    }
    if (w.dtype() == DType.Q4_0) {
      Q8Activations a = quantize(x, xOffset, tokens, w.cols());
      matmulQ4(w, a, out, outOffset, groupStart, groupEnd);
    } else if (tokens == 1 && w.dtype() == DType.Q8_0) {
      decodeQ8(w, x, xOffset, out, outOffset, groupStart, groupEnd);
    } else if (tokens == 1) {
      // Results go through an array (vectors returned from a method would be boxed), one per thread.
      decodeFloat(w, x, xOffset, out, outOffset, groupStart, groupEnd);
    } else {
      float[] xp = tiles != null ? tiles : ownTiles(x, xOffset, tokens, w.cols());
      if (w.dtype() == DType.Q8_0) {
        blockPanelProduct(w, xp, tokens, out, outOffset, groupStart, groupEnd);
      } else {
        panelProduct(w, xp, tokens, out, outOffset, groupStart, groupEnd);
      }
    }
  }

  /**
   * One token times float groups {@code [groupStart, groupEnd)}, in the passes of {@link
   * #forEachPass} as {@link #decodeQ8}: each stream runs through k consecutive groups (about {@link
   * #STREAM_COLUMNS} columns, one run of memory). Each pass runs as one loop that closes a group's
   * rows when their columns end ({@link #passF32}, {@link #passBf16}, {@link #passFiniteF16}; F16
   * with infinities or NaNs two loops of two streams, {@link #passF16}); odd BF16 widths go a group
   * of each stream per call. Each row's arithmetic is the same whatever the order.
   */
  private static void decodeFloat(
      PackedMatrix w, float[] x, int xo, float[] out, int outOffset, int groupStart, int groupEnd) {
    int k = streamGroups(w.cols(), groupEnd - groupStart);
    if (w.dtype() == DType.BF16 && w.cols() % 2 != 0) {
      float[] acc = GROUP_SUMS.get();
      forEachPass(k, groupStart, groupEnd, (g, g1, g2, g3, groups, count) -> {
        for (int j = 0; j < groups; j++) {
          oddBf16Groups(w, g + j, g1 + j, g2 + j, g3 + j, Math.min(4, count), x, xo, out, outOffset, acc);
        }
      });
      return;
    }
    float[] acc = streamSums(k);
    MemorySegment data = w.data();
    long gb = w.groupBytes();
    DType type = w.dtype();
    boolean finite = w.finiteHalves();
    forEachPass(k, groupStart, groupEnd, (g, g1, g2, g3, groups, count) -> {
      int sink = switch (type) {
        case BF16 -> passBf16(data, g * gb, g1 * gb, g2 * gb, g3 * gb, groups, w.cols(), x, xo, acc);
        case F32 -> passF32(data, g * gb, g1 * gb, g2 * gb, g3 * gb, groups, w.cols(), x, xo, acc);
        // The exact F16 widening is long: two streams per loop kept C2 within its inlining budget.
        case F16 -> finite
            ? passFiniteF16(data, g * gb, g1 * gb, g2 * gb, g3 * gb, groups, w.cols(), x, xo, acc)
            : passF16(data, g * gb, g1 * gb, groups, w.cols(), x, xo, acc, 0)
                ^ passF16(data, g2 * gb, g3 * gb, groups, w.cols(), x, xo, acc, 2 * L);
        default -> throw new AssertionError(type + " does not decode here");
      };
      if (sink == 0x5A) {
        touched = sink; // see oddBf16Groups
      }
      storeStreams(acc, g, groups, count, w.rows(), out, outOffset);
    });
  }

  /**
   * F32 groups, four streams of {@code groups} consecutive groups from byte offsets {@code b0 ..
   * b3}: one loop over the pass, each stream's rows written to {@code acc[(4 j + s) L ..]} (group j
   * of stream s) when the group's columns end. On the Zen 5 VM this made 2B bf16 decode tokens 3-5 %
   * faster than a loop (and call) per group of 2560 columns (in-process A/B; BENCHMARKS.md, stop
   * 25). Each row's sum is a fused multiply-add chain over its columns in order, from zero.
   */
  private static int passF32(
      MemorySegment data, long b0, long b1, long b2, long b3, int groups, int cols, float[] x, int xo,
      float[] acc) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    long step = 4L * L;
    long end = step * cols * groups;
    long last = data.byteSize() - 1;
    int sink = 0;
    int xi = xo;
    int left = cols;
    int at = 0;
    for (long o = 0; o < end; o += step, xi++) {
      if (TOUCH) {
        sink ^= touch(data, last, b0, b1, b2, b3, o);
      }
      FloatVector u = FloatVector.broadcast(F, x[xi]);
      a0 = FloatVector.fromMemorySegment(F, data, b0 + o, LE).fma(u, a0);
      a1 = FloatVector.fromMemorySegment(F, data, b1 + o, LE).fma(u, a1);
      a2 = FloatVector.fromMemorySegment(F, data, b2 + o, LE).fma(u, a2);
      a3 = FloatVector.fromMemorySegment(F, data, b3 + o, LE).fma(u, a3);
      if (--left == 0) {
        a0.intoArray(acc, at);
        a1.intoArray(acc, at + L);
        a2.intoArray(acc, at + 2 * L);
        a3.intoArray(acc, at + 3 * L);
        at += 4 * L;
        a0 = FloatVector.zero(F);
        a1 = a0;
        a2 = a0;
        a3 = a0;
        left = cols;
        xi = xo - 1;
      }
    }
    return sink;
  }

  /** BF16 groups of an even column count in passes, as {@link #passF32}; {@link #groupsBf16}'s arithmetic. */
  private static int passBf16(
      MemorySegment data, long b0, long b1, long b2, long b3, int groups, int cols, float[] x, int xo,
      float[] acc) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    long step = 4L * L;
    int pairs = cols / 2;
    long end = step * pairs * groups;
    long last = data.byteSize() - 1;
    int sink = 0;
    int xi = xo;
    int left = pairs;
    int at = 0;
    for (long o = 0; o < end; o += step, xi += 2) {
      if (TOUCH) {
        sink ^= touch(data, last, b0, b1, b2, b3, o);
      }
      FloatVector u = FloatVector.broadcast(F, x[xi]);
      FloatVector v = FloatVector.broadcast(F, x[xi + 1]);
      IntVector w0 = IntVector.fromMemorySegment(I, data, b0 + o, LE);
      IntVector w1 = IntVector.fromMemorySegment(I, data, b1 + o, LE);
      IntVector w2 = IntVector.fromMemorySegment(I, data, b2 + o, LE);
      IntVector w3 = IntVector.fromMemorySegment(I, data, b3 + o, LE);
      a0 = w0.lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a0);
      a1 = w1.lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a1);
      a2 = w2.lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a2);
      a3 = w3.lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a3);
      a0 = w0.and(0xFFFF0000).viewAsFloatingLanes().fma(v, a0);
      a1 = w1.and(0xFFFF0000).viewAsFloatingLanes().fma(v, a1);
      a2 = w2.and(0xFFFF0000).viewAsFloatingLanes().fma(v, a2);
      a3 = w3.and(0xFFFF0000).viewAsFloatingLanes().fma(v, a3);
      if (--left == 0) {
        a0.intoArray(acc, at);
        a1.intoArray(acc, at + L);
        a2.intoArray(acc, at + 2 * L);
        a3.intoArray(acc, at + 3 * L);
        at += 4 * L;
        a0 = FloatVector.zero(F);
        a1 = a0;
        a2 = a0;
        a3 = a0;
        left = pairs;
        xi = xo - 2;
      }
    }
    return sink;
  }

  /**
   * F16 groups of a matrix without infinities or NaNs ({@link PackedMatrix#finiteHalves}) in passes,
   * as {@link #passF32}: each half widened as {@link #finiteF16} does (four operations instead of
   * {@link #f16}'s ten; the same floats for every finite half), four streams per loop.
   */
  private static int passFiniteF16(
      MemorySegment data, long b0, long b1, long b2, long b3, int groups, int cols, float[] x, int xo,
      float[] acc) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    long step = 2L * L;
    long end = step * cols * groups;
    long last = data.byteSize() - 1;
    int sink = 0;
    int xi = xo;
    int left = cols;
    int at = 0;
    for (long o = 0; o < end; o += step, xi++) {
      if (((xi - xo) & 1) == 0) {
        if (TOUCH) {
          sink ^= touch(data, last, b0, b1, b2, b3, o);
        }
      }
      FloatVector u = FloatVector.broadcast(F, x[xi]);
      IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S, data, b0 + o, LE).convertShape(VectorOperators.S2I, I, 0);
      IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S, data, b1 + o, LE).convertShape(VectorOperators.S2I, I, 0);
      IntVector h2 = (IntVector) ShortVector.fromMemorySegment(S, data, b2 + o, LE).convertShape(VectorOperators.S2I, I, 0);
      IntVector h3 = (IntVector) ShortVector.fromMemorySegment(S, data, b3 + o, LE).convertShape(VectorOperators.S2I, I, 0);
      a0 = h0.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f).fma(u, a0);
      a1 = h1.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f).fma(u, a1);
      a2 = h2.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f).fma(u, a2);
      a3 = h3.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f).fma(u, a3);
      if (--left == 0) {
        a0.intoArray(acc, at);
        a1.intoArray(acc, at + L);
        a2.intoArray(acc, at + 2 * L);
        a3.intoArray(acc, at + 3 * L);
        at += 4 * L;
        a0 = FloatVector.zero(F);
        a1 = a0;
        a2 = a0;
        a3 = a0;
        left = cols;
        xi = xo - 1;
      }
    }
    return sink;
  }

  /**
   * F16 groups in passes, as {@link #passF32}, two streams per loop: streams {@code b0} and {@code
   * b1} write {@code acc[(4 j + s) L + at0 ..]} for s = 0, 1 (at0 = 0 for the first two streams of a
   * pass, 2L for the other two). Was a loop per group and pair of streams until stop 25, which read
   * ~12-14 GB/s against ~40 now over 2 GB of 15 360 x 2560 matrices on two threads (BENCHMARKS.md).
   * Matrices without infinities or NaNs go through {@link #passFiniteF16} instead.
   */
  private static int passF16(MemorySegment data, long b0, long b1, int groups, int cols, float[] x, int xo,
      float[] acc, int at0) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    long step = 2L * L;
    long end = step * cols * groups;
    long last = data.byteSize() - 1;
    int sink = 0;
    int xi = xo;
    int left = cols;
    int at = at0;
    for (long o = 0; o < end; o += step, xi++) {
      if (((xi - xo) & 1) == 0) {
        if (TOUCH) {
          sink ^= touch(data, last, b0, b1, b0, b1, o);
        }
      }
      FloatVector u = FloatVector.broadcast(F, x[xi]);
      a0 = f16(data, b0 + o).fma(u, a0);
      a1 = f16(data, b1 + o).fma(u, a1);
      if (--left == 0) {
        a0.intoArray(acc, at);
        a1.intoArray(acc, at + L);
        at += 4 * L;
        a0 = FloatVector.zero(F);
        a1 = a0;
        left = cols;
        xi = xo - 1;
      }
    }
    return sink;
  }

  /**
   * One token times BF16 groups {@code g0 .. g3} of an odd column count (the others go through
   * {@link #passBf16}), of which the first {@code count} are written (the others repeat one of them).
   */
  private static void oddBf16Groups(
      PackedMatrix w, int g0, int g1, int g2, int g3, int count, float[] x, int xo, float[] out, int outOffset,
      float[] acc) {
    long gb = w.groupBytes();
    int sink = groupsBf16(w.data(), g0 * gb, g1 * gb, g2 * gb, g3 * gb, w.cols(), x, xo, acc);
    if (sink == 0x5A) {
      // Depends on the touched bytes, so the JIT keeps their loads; taken about once in 256 calls
      // (a store on every call, from every thread, moved the field's cache line between the cores).
      touched = sink;
    }
    int rows = w.rows();
    for (int k = 0; k < count; k++) {
      int row = (k == 0 ? g0 : k == 1 ? g1 : k == 2 ? g2 : g3) * L;
      System.arraycopy(acc, k * L, out, outOffset + row, Math.min(L, rows - row));
    }
  }

  /**
   * One byte of each of the four streams {@code AHEAD} bytes past {@code o} (clamped to the data),
   * combined so that the loads stay; see {@link #AHEAD}.
   */
  private static int touch(MemorySegment data, long last, long b0, long b1, long b2, long b3, long o) {
    long ahead = o + AHEAD;
    return data.get(ValueLayout.JAVA_BYTE, Math.min(b0 + ahead, last))
        ^ data.get(ValueLayout.JAVA_BYTE, Math.min(b1 + ahead, last))
        ^ data.get(ValueLayout.JAVA_BYTE, Math.min(b2 + ahead, last))
        ^ data.get(ValueLayout.JAVA_BYTE, Math.min(b3 + ahead, last));
  }

  /** BF16 pairs: a 32-bit word holds column c (low half) and c + 1 (high half) of one row. */
  private static int groupsBf16(
      MemorySegment data, long b0, long b1, long b2, long b3, int cols, float[] x, int xo, float[] acc) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    long step = 4L * L;
    int pairs = cols / 2;
    long last = data.byteSize() - 1;
    int sink = 0;
    int xi = xo;
    for (int p = 0; p < pairs; p++, xi += 2) {
      long o = p * step;
      if (TOUCH) {
        sink ^= touch(data, last, b0, b1, b2, b3, o);
      }
      FloatVector u = FloatVector.broadcast(F, x[xi]);
      FloatVector v = FloatVector.broadcast(F, x[xi + 1]);
      IntVector w0 = IntVector.fromMemorySegment(I, data, b0 + o, LE);
      IntVector w1 = IntVector.fromMemorySegment(I, data, b1 + o, LE);
      IntVector w2 = IntVector.fromMemorySegment(I, data, b2 + o, LE);
      IntVector w3 = IntVector.fromMemorySegment(I, data, b3 + o, LE);
      a0 = w0.lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a0);
      a1 = w1.lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a1);
      a2 = w2.lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a2);
      a3 = w3.lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a3);
      a0 = w0.and(0xFFFF0000).viewAsFloatingLanes().fma(v, a0);
      a1 = w1.and(0xFFFF0000).viewAsFloatingLanes().fma(v, a1);
      a2 = w2.and(0xFFFF0000).viewAsFloatingLanes().fma(v, a2);
      a3 = w3.and(0xFFFF0000).viewAsFloatingLanes().fma(v, a3);
    }
    if (cols % 2 != 0) {
      long o = pairs * step;
      FloatVector u = FloatVector.broadcast(F, x[xi]);
      a0 = IntVector.fromMemorySegment(I, data, b0 + o, LE).lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a0);
      a1 = IntVector.fromMemorySegment(I, data, b1 + o, LE).lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a1);
      a2 = IntVector.fromMemorySegment(I, data, b2 + o, LE).lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a2);
      a3 = IntVector.fromMemorySegment(I, data, b3 + o, LE).lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().fma(u, a3);
    }
    a0.intoArray(acc, 0);
    a1.intoArray(acc, L);
    a2.intoArray(acc, 2 * L);
    a3.intoArray(acc, 3 * L);
    return sink;
  }

  /** The two widened scale vectors of a block in {@link #pairQ4x2}. */
  private static final ThreadLocal<float[]> SCALES = ThreadLocal.withInitial(() -> new float[2 * L]);

  /**
   * L finite f16 values (block scales: {@link Packing} rejects infinities and NaNs) widened to
   * float32 into {@code out[at ..]}: each half sign-extended to 32 bits and shifted left by 13 puts
   * its sign in the float's sign bit (the extension's ones land in bits 29-31), its exponent in the
   * low five exponent bits and its mantissa in place; clearing bits 28-30 and multiplying by 2^112
   * rebiases the exponent, exactly for normal and subnormal halves (and -0). Four vector operations
   * instead of L scalar conversions (the quantized decode loops write the same out inline).
   */
  private static void finiteF16(MemorySegment data, long offset, float[] out, int at) {
    IntVector half = (IntVector) ShortVector.fromMemorySegment(S, data, offset, LE)
        .convertShape(VectorOperators.S2I, I, 0);
    half.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f).intoArray(out, at);
  }

  /**
   * Columns a Q8_0 decode pass streams per group stream at least (several consecutive groups, see
   * {@link #decodeQ8}). On the Zen 5 VM a pass over DRAM lost ~0.5-2 microseconds each time its loop
   * ended and the next began (not from L2): rows of 2560 columns streamed at 38-44 GB/s against
   * 45-56 for 7680, and six groups of 2560 columns per stream recovered the 7680-column rate
   * (BENCHMARKS.md, stop 22). In the 2B model (in one process, alternating), 46080 against 15360
   * columns: q4_0 tokens 5.5 % and q8_0 1.5 % faster; 122880 against 46080: within 1 %.
   */
  private static final int STREAM_COLUMNS = 46080;

  /** Per-thread buffer of the decode passes: the results of their groups. */
  private static final ThreadLocal<float[]> STREAM_SUMS = ThreadLocal.withInitial(() -> new float[0]);

  /**
   * One token times Q8_0 groups {@code [groupStart, groupEnd)}: four streams at a time, each through
   * k consecutive groups in one pass (their values are one run and their scales another, see {@link
   * PackedMatrix}), k chosen so that a stream covers about {@link #STREAM_COLUMNS} columns. Each
   * row's arithmetic is the same whatever k (the results are bit for bit those of one group at a
   * time).
   */
  private static void decodeQ8(
      PackedMatrix w, float[] x, int xOffset, float[] out, int outOffset, int groupStart, int groupEnd) {
    int blocks = w.cols() / 32;
    int k = streamGroups(w.cols(), groupEnd - groupStart);
    streamPasses(w, k, groupStart, groupEnd, out, outOffset, (s0, s1, s2, s3, so0, so1, so2, so3, groups, acc) ->
        groupsQ8(s0, s1, s2, s3, so0, so1, so2, so3, blocks, groups, x, xOffset, acc));
  }

  /** Groups per stream of a decode pass: about {@link #STREAM_COLUMNS} columns, four streams at least. */
  private static int streamGroups(int cols, int groupCount) {
    return Math.max(1, Math.min((STREAM_COLUMNS + cols - 1) / cols, groupCount / 4));
  }

  /** One pass of a quantized decode kernel over four streams of {@code groups} consecutive groups. */
  @FunctionalInterface
  private interface StreamPass {
    void run(MemorySegment s0, MemorySegment s1, MemorySegment s2, MemorySegment s3,
        long so0, long so1, long so2, long so3, int groups, float[] acc);
  }

  /** One pass of {@link #forEachPass}: stream s starts at group {@code g}, {@code g1}, {@code g2}, {@code g3}. */
  @FunctionalInterface
  private interface PassVisitor {
    void visit(int g, int g1, int g2, int g3, int groups, int count);
  }

  /**
   * The passes of a one-token product over groups {@code [groupStart, groupEnd)}: four streams of k
   * consecutive groups each ({@code count = 4 * groups}), fewer per stream at the end; under four
   * groups left, one group per stream ({@code groups = 1}, {@code count} the groups left), the
   * missing streams repeating the last group (to be computed, not stored).
   */
  private static void forEachPass(int k, int groupStart, int groupEnd, PassVisitor visitor) {
    int g = groupStart;
    while (g < groupEnd) {
      int left = groupEnd - g;
      int kk = Math.min(k, left / 4);
      int count = 4 * kk;
      int step = kk;
      if (kk == 0) {
        kk = 1;
        count = left;
        step = 1;
      }
      visitor.visit(g, g + Math.min(step, count - 1), g + Math.min(2 * step, count - 1),
          g + Math.min(3 * step, count - 1), kk, count);
      g += count;
    }
  }

  /**
   * Runs {@code pass} over groups {@code [groupStart, groupEnd)} of a quantized matrix, pass by pass
   * as {@link #forEachPass} gives them, and writes each pass's rows.
   */
  private static void streamPasses(
      PackedMatrix w, int k, int groupStart, int groupEnd, float[] out, int outOffset, StreamPass pass) {
    float[] acc = streamSums(k);
    forEachPass(k, groupStart, groupEnd, (g, g1, g2, g3, groups, count) -> {
      pass.run(w.run(g, groups), w.run(g1, groups), w.run(g2, groups), w.run(g3, groups),
          w.scaleOffset(g), w.scaleOffset(g1), w.scaleOffset(g2), w.scaleOffset(g3), groups, acc);
      storeStreams(acc, g, groups, count, w.rows(), out, outOffset);
    });
  }

  /** This thread's {@link #STREAM_SUMS}, room for passes of {@code k} groups per stream. */
  private static float[] streamSums(int k) {
    float[] stored = STREAM_SUMS.get();
    if (stored.length < 4 * k * L) {
      stored = new float[4 * k * L];
      STREAM_SUMS.set(stored);
    }
    return stored;
  }

  /**
   * Q8_0, block by block (see {@link PackedMatrix}): each block's quantized values times x from
   * zero, then that partial sum times the block's scale added to the row's sum. Three vector
   * operations per 16 weights (widen, convert, multiply-add) instead of four.
   *
   * <p>Four streams of {@code groups} consecutive groups each ({@link PackedMatrix#run}): the
   * values from offset 0, the scales from {@code so0 .. so3}; the rows of a stream's j-th group go
   * to {@code acc[(4 j + s) * L ..]} when its last block closes. One segment per stream: with
   * separate segments for the values and the scales of the four groups the loop kept eight segments
   * live, and C2 spilled and copied their registers (39 instructions per column in the disassembly,
   * 31 with four; BENCHMARKS.md, stop 20).
   */
  private static void groupsQ8(
      MemorySegment g0, MemorySegment g1, MemorySegment g2, MemorySegment g3,
      long so0, long so1, long so2, long so3, int blocks, int groups, float[] x, int xo, float[] acc) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    FloatVector p0 = a0, p1 = a0, p2 = a0, p3 = a0;
    // One loop over every column of every block of every group of the streams (the values are one
    // run per stream), each block's partial sums closed every 32nd step and each group's rows every
    // blocks-th block: a loop per block cost its entry checks each time, a pass per group its
    // start-up over DRAM. The input index goes back to xo at each group's end (one input for all
    // the groups): reading k-fold copies of the input instead, so that the index stayed affine,
    // cost their copying per call and was ~3 % slower per 2B token (BENCHMARKS.md, stop 23).
    int cols = 32 * blocks * groups;
    int blocksLeft = blocks;
    int at = 0;
    int xi = xo;
    for (int c = 0; c < cols; c++) {
      FloatVector u = FloatVector.broadcast(F, x[xi++]);
      int q = c * L;
      // Written out, not through q8(): if C2 declined to inline a helper returning a vector (it
      // sometimes does, depending on what ran first), every call would box one.
      p0 = ((FloatVector) ByteVector.fromMemorySegment(B, g0, q, LE).convertShape(VectorOperators.B2F, F, 0)).fma(u, p0);
      p1 = ((FloatVector) ByteVector.fromMemorySegment(B, g1, q, LE).convertShape(VectorOperators.B2F, F, 0)).fma(u, p1);
      p2 = ((FloatVector) ByteVector.fromMemorySegment(B, g2, q, LE).convertShape(VectorOperators.B2F, F, 0)).fma(u, p2);
      p3 = ((FloatVector) ByteVector.fromMemorySegment(B, g3, q, LE).convertShape(VectorOperators.B2F, F, 0)).fma(u, p3);
      if ((c & 31) == 31) {
        // The block's f16 scales widened as finiteF16 does, written out (no call in this loop).
        long sb = 2L * L * (c >>> 5);
        IntVector e0 = (IntVector) ShortVector.fromMemorySegment(S, g0, so0 + sb, LE).convertShape(VectorOperators.S2I, I, 0);
        FloatVector d0 = e0.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f);
        IntVector e1 = (IntVector) ShortVector.fromMemorySegment(S, g1, so1 + sb, LE).convertShape(VectorOperators.S2I, I, 0);
        FloatVector d1 = e1.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f);
        IntVector e2 = (IntVector) ShortVector.fromMemorySegment(S, g2, so2 + sb, LE).convertShape(VectorOperators.S2I, I, 0);
        FloatVector d2 = e2.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f);
        IntVector e3 = (IntVector) ShortVector.fromMemorySegment(S, g3, so3 + sb, LE).convertShape(VectorOperators.S2I, I, 0);
        FloatVector d3 = e3.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f);
        a0 = p0.fma(d0, a0);
        a1 = p1.fma(d1, a1);
        a2 = p2.fma(d2, a2);
        a3 = p3.fma(d3, a3);
        p0 = FloatVector.zero(F);
        p1 = p0;
        p2 = p0;
        p3 = p0;
        if (--blocksLeft == 0) {
          // The end of a group in every stream: its rows are done.
          a0.intoArray(acc, at);
          a1.intoArray(acc, at + L);
          a2.intoArray(acc, at + 2 * L);
          a3.intoArray(acc, at + 3 * L);
          at += 4 * L;
          a0 = p0;
          a1 = p0;
          a2 = p0;
          a3 = p0;
          blocksLeft = blocks;
          xi = xo;
        }
      }
    }
  }

  @Override
  public Q8Activations quantize(float[] x, int xOffset, int tokens, int cols) {
    Q8Activations a = new Q8Activations(tokens, cols);
    FloatVector half = FloatVector.broadcast(F, 0.5f);
    FloatVector minusHalf = FloatVector.broadcast(F, -0.5f);
    for (int t = 0; t < tokens; t++) {
      for (int b = 0; b < a.blocks; b++) {
        int base = xOffset + t * cols + 32 * b;
        FloatVector m = FloatVector.zero(F);
        for (int k = 0; k < 32; k += L) {
          m = m.max(FloatVector.fromArray(F, x, base + k).abs());
        }
        float max = m.reduceLanes(VectorOperators.MAX);
        float inverse = max == 0f ? 0f : 127f / max;
        int sum = 0;
        for (int k = 0; k < 32; k += L) {
          // As Q8Activations.round: (int) (v + copySign(0.5, v)), clamped.
          FloatVector v = FloatVector.fromArray(F, x, base + k).mul(inverse);
          IntVector q = ((IntVector) v.add(half.blend(minusHalf, v.lt(0f))).convertShape(VectorOperators.F2I, I, 0))
              .max(-127).min(127);
          sum += q.reduceLanes(VectorOperators.ADD);
          ((ByteVector) q.convertShape(VectorOperators.I2B, B, 0)).intoArray(a.values, t * cols + 32 * b + k);
        }
        a.scales[t * a.blocks + b] = max / 127f;
        a.sums[t * a.blocks + b] = sum;
        // The pair words (Q8Activations#pairWords), 2L values at a time as 16-bit lanes: the words
        // {v[4p], v[4p + 2]} and {v[4p + 1] - 16 v[4p], v[4p + 3] - 16 v[4p + 2]}. The species are
        // the Q4_0 kernels' own (B2, S2), so that every ShortVector in the hot code is of one class
        // (see the class comment on profiles).
        for (int h = 0; h < 32; h += 2 * L) {
          ShortVector v = (ShortVector) ByteVector.fromArray(B2, a.values, t * cols + 32 * b + h)
              .convertShape(VectorOperators.B2S, S2, 0);
          ShortVector words = v.rearrange(PAIR_ORDER)
              .sub(v.rearrange(PAIR_LOWS).lanewise(VectorOperators.LSHL, 4), PAIR_MIXED);
          ((IntVector) words.reinterpretShape(I, 0)).intoArray(a.pairWords, (t * a.blocks + b) * 16 + h / 2);
        }
      }
    }
    return a;
  }

  /** Lanes of 2L int8 inputs in pair-word order: {v[4p], v[4p + 2], v[4p + 1], v[4p + 3]}. */
  private static final VectorShuffle<Short> PAIR_ORDER =
      VectorShuffle.fromOp(S2, i -> (i & ~3) + new int[] {0, 2, 1, 3}[i & 3]);
  /** The low-nibble inputs under the mixed lanes: {-, -, v[4p], v[4p + 2]}. */
  private static final VectorShuffle<Short> PAIR_LOWS =
      VectorShuffle.fromOp(S2, i -> (i & ~3) + new int[] {0, 0, 0, 2}[i & 3]);
  /** The mixed lanes (third and fourth of each four). */
  private static final VectorMask<Short> PAIR_MIXED = VectorMask.fromLong(S2, 0xCCCCCCCCCCCCCCCCL);

  @Override
  public void matmulQ4(PackedMatrix w, Q8Activations a, float[] out, int outOffset, int groupStart, int groupEnd) {
    if (w.groupRows() != L) {
      ScalarKernels.INSTANCE.matmulQ4(w, a, out, outOffset, groupStart, groupEnd);
      return;
    }
    if (a.tokens == 1) {
      decodeQ4(w, a, out, outOffset, groupStart, groupEnd);
      return;
    }
    MemorySegment data = w.data();
    int rows = w.rows();
    float[] acc = GROUP_SUMS.get();
    // Four groups at a time, their blocks staying in cache across the tokens: tokens two by two
    // through the 2-group x 2-token kernel, the last one alone. (A 2 x 4 kernel needed ~13 % fewer
    // operations but was no faster, and large enough that C2 sometimes ran out of its inlining
    // budget in it and kept vectors boxed: ~15x slower in about one process in twenty even with
    // per-call-site dispatch; BENCHMARKS.md, stop 24.)
    for (int g0 = groupStart; g0 < groupEnd; g0 += 4) {
      int count = Math.min(4, groupEnd - g0);
      int g1 = g0 + Math.min(1, count - 1);
      int g2 = g0 + Math.min(2, count - 1);
      int g3 = g0 + Math.min(3, count - 1);
      int t = 0;
      for (; t + 2 <= a.tokens; t += 2) {
        for (int pair = 0; pair < count; pair += 2) {
          int p0 = pair == 0 ? g0 : g2;
          int p1 = pair == 0 ? g1 : g3;
          pairQ4x2(data, w.valueStart(p0), w.valueStart(p1), w.scaleStart(p0), w.scaleStart(p1), a.blocks,
              a.pairWords, a.scales, a.sums, t * a.blocks, acc);
          for (int k = pair; k < Math.min(count, pair + 2); k++) {
            int row = (g0 + k) * L;
            for (int u = 0; u < 2; u++) {
              System.arraycopy(acc, ((k - pair) * 2 + u) * L, out, outOffset + (t + u) * rows + row,
                  Math.min(L, rows - row));
            }
          }
        }
      }
      for (; t < a.tokens; t++) {
        groupsQ4(w.group(g0), w.group(g1), w.group(g2), w.group(g3),
            w.scaleOffset(g0), w.scaleOffset(g1), w.scaleOffset(g2), w.scaleOffset(g3), a.blocks, 1,
            a.pairWords, a.scales, a.sums, t * a.blocks, acc);
        for (int k = 0; k < count; k++) {
          int row = (g0 + k) * L;
          System.arraycopy(acc, k * L, out, outOffset + t * rows + row, Math.min(L, rows - row));
        }
      }
    }
  }

  /**
   * One token times Q4_0 groups {@code [groupStart, groupEnd)}, as {@link #decodeQ8}: four streams
   * of k consecutive groups per pass. The same results as one group at a time, bit for bit.
   */
  private static void decodeQ4(
      PackedMatrix w, Q8Activations a, float[] out, int outOffset, int groupStart, int groupEnd) {
    int blocks = w.cols() / 32;
    int k = streamGroups(w.cols(), groupEnd - groupStart);
    streamPasses(w, k, groupStart, groupEnd, out, outOffset, (s0, s1, s2, s3, so0, so1, so2, so3, groups, acc) ->
        groupsQ4(s0, s1, s2, s3, so0, so1, so2, so3, blocks, groups, a.pairWords, a.scales, a.sums, 0, acc));
  }

  /**
   * Writes the rows of one pass of {@link #decodeQ8} or {@link #decodeQ4}: {@code acc[(4 j + s) *
   * L ..]} holds group j of stream s, i.e. group {@code g + s * k + j} when the pass had four full
   * streams ({@code count = 4k}), else group {@code g + s} (k = 1, fewer than four groups).
   */
  private static void storeStreams(float[] acc, int g, int k, int count, int rows, float[] out, int outOffset) {
    for (int s = 0; s < 4; s++) {
      for (int j = 0; j < k; j++) {
        int group = count == 4 * k ? g + s * k + j : g + s;
        if (group - g >= count) {
          continue;
        }
        int row = group * L;
        System.arraycopy(acc, (4 * j + s) * L, out, outOffset + row, Math.min(L, rows - row));
      }
    }
  }

  /**
   * Q4_0 times int8 inputs for two consecutive tokens (from block index {@code xb} of the inputs)
   * and two groups, the same arithmetic as {@link #groupsQ4} (so the same results): each widened
   * weight vector serves both tokens. Writes {@code acc[(group * 2 + token) * L ..]}.
   */
  private static void pairQ4x2(
      MemorySegment data, long b0, long b1, long scales0, long scales1, int blocks, int[] pairWords,
      float[] inputScales, int[] inputSums, int xb, float[] acc) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00;
    FloatVector a10 = a00, a11 = a00;
    float[] scales = SCALES.get();
    int stride = blocks * 16; // pair words per token
    for (int b = 0; b < blocks; b++) {
      long o = b * 16L * L;
      ShortVector s00 = ShortVector.zero(S2), s01 = s00;
      ShortVector s10 = s00, s11 = s00;
      for (int jp = 0; jp < 8; jp++) {
        long q = o + (long) jp * 2 * L;
        ShortVector n0 = (ShortVector) ByteVector.fromMemorySegment(B2, data, b0 + q, LE)
            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
        ShortVector n1 = (ShortVector) ByteVector.fromMemorySegment(B2, data, b1 + q, LE)
            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
        ShortVector hi0 = n0.lanewise(VectorOperators.LSHR, 4);
        ShortVector hi1 = n1.lanewise(VectorOperators.LSHR, 4);
        int pw = (xb + b) * 16 + 2 * jp;
        ShortVector lo = (ShortVector) IntVector.broadcast(I, pairWords[pw]).reinterpretShape(S2, 0);
        ShortVector mixed = (ShortVector) IntVector.broadcast(I, pairWords[pw + 1]).reinterpretShape(S2, 0);
        s00 = s00.lanewise(ADD, n0.lanewise(MUL, lo)).lanewise(ADD, hi0.lanewise(MUL, mixed));
        s10 = s10.lanewise(ADD, n1.lanewise(MUL, lo)).lanewise(ADD, hi1.lanewise(MUL, mixed));
        lo = (ShortVector) IntVector.broadcast(I, pairWords[pw + stride]).reinterpretShape(S2, 0);
        mixed = (ShortVector) IntVector.broadcast(I, pairWords[pw + stride + 1]).reinterpretShape(S2, 0);
        s01 = s01.lanewise(ADD, n0.lanewise(MUL, lo)).lanewise(ADD, hi0.lanewise(MUL, mixed));
        s11 = s11.lanewise(ADD, n1.lanewise(MUL, lo)).lanewise(ADD, hi1.lanewise(MUL, mixed));
      }
      // Scales of the two vectors of rows, widened by finiteF16 (groupsQ4 writes the same out inline).
      finiteF16(data, scales0 + b * 2L * L, scales, 0);
      finiteF16(data, scales1 + b * 2L * L, scales, L);
      FloatVector d0 = FloatVector.fromArray(F, scales, 0);
      FloatVector d1 = FloatVector.fromArray(F, scales, L);
      int x0 = xb + b;
      int x1 = x0 + blocks;
      // Each row's two 16-bit lanes added as int32, minus the offset (written out: see groupsQ8).
      IntVector w00 = (IntVector) s00.reinterpretShape(I, 0);
      a00 = ((FloatVector) w00.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
          .add(w00.lanewise(VectorOperators.ASHR, 16)).sub(8 * inputSums[x0]).convertShape(VectorOperators.I2F, F, 0))
          .fma(d0.mul(inputScales[x0]), a00);
      IntVector w01 = (IntVector) s01.reinterpretShape(I, 0);
      a01 = ((FloatVector) w01.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
          .add(w01.lanewise(VectorOperators.ASHR, 16)).sub(8 * inputSums[x1]).convertShape(VectorOperators.I2F, F, 0))
          .fma(d0.mul(inputScales[x1]), a01);
      IntVector w10 = (IntVector) s10.reinterpretShape(I, 0);
      a10 = ((FloatVector) w10.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
          .add(w10.lanewise(VectorOperators.ASHR, 16)).sub(8 * inputSums[x0]).convertShape(VectorOperators.I2F, F, 0))
          .fma(d1.mul(inputScales[x0]), a10);
      IntVector w11 = (IntVector) s11.reinterpretShape(I, 0);
      a11 = ((FloatVector) w11.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
          .add(w11.lanewise(VectorOperators.ASHR, 16)).sub(8 * inputSums[x1]).convertShape(VectorOperators.I2F, F, 0))
          .fma(d1.mul(inputScales[x1]), a11);
    }
    a00.intoArray(acc, 0);
    a01.intoArray(acc, L);
    a10.intoArray(acc, 2 * L);
    a11.intoArray(acc, 3 * L);
  }

  /**
   * Q4_0 times int8 inputs for one token and four streams of {@code groups} consecutive groups
   * (as {@link #groupsQ8}: each group's inputs from block {@code xb}). Per pair of byte columns, one
   * load of 2L bytes (each row's two bytes side by side) widened to 2L 16-bit lanes gives four columns' bytes
   * {@code lo + 16 hi} and, by a shift of the 16-bit lanes, their high nibbles; the bytes are
   * multiplied by the broadcast low-nibble inputs and the high nibbles by the mixed inputs ({@link
   * Q8Activations#pairWords}) and added in 16-bit lanes (exact: a block's sum per lane is at most 16
   * products of 15 * 127). Per block each row's two lanes are added as int32 (viewed as one int: low
   * half sign-extended plus high half), the offset of 8 is taken off, and the exact integer is
   * converted and fused into the row's sum times weight scale * input scale. Under two vector
   * operations per 16 weights, against three and a half for widening to float.
   */
  private static void groupsQ4(
      MemorySegment g0, MemorySegment g1, MemorySegment g2, MemorySegment g3,
      long so0, long so1, long so2, long so3, int blocks, int groups,
      int[] pairWords, float[] inputScales, int[] inputSums, int xb, float[] acc) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    int blocksLeft = blocks;
    int at = 0;
    int total = blocks * groups;
    int xbi = xb;
    for (int b = 0; b < total; b++, xbi++) {
      ShortVector s0 = ShortVector.zero(S2), s1 = s0, s2 = s0, s3 = s0;
      int pw = 16 * xbi;
      for (int jp = 0; jp < 8; jp++) {
        ShortVector lo = (ShortVector) IntVector.broadcast(I, pairWords[pw + 2 * jp]).reinterpretShape(S2, 0);
        ShortVector mixed = (ShortVector) IntVector.broadcast(I, pairWords[pw + 2 * jp + 1]).reinterpretShape(S2, 0);
        int q = (8 * b + jp) * 2 * L;
        ShortVector n0 = (ShortVector) ByteVector.fromMemorySegment(B2, g0, q, LE)
            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
        ShortVector n1 = (ShortVector) ByteVector.fromMemorySegment(B2, g1, q, LE)
            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
        ShortVector n2 = (ShortVector) ByteVector.fromMemorySegment(B2, g2, q, LE)
            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
        ShortVector n3 = (ShortVector) ByteVector.fromMemorySegment(B2, g3, q, LE)
            .convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
        s0 = s0.lanewise(ADD, n0.lanewise(MUL, lo)).lanewise(ADD, n0.lanewise(VectorOperators.LSHR, 4).lanewise(MUL, mixed));
        s1 = s1.lanewise(ADD, n1.lanewise(MUL, lo)).lanewise(ADD, n1.lanewise(VectorOperators.LSHR, 4).lanewise(MUL, mixed));
        s2 = s2.lanewise(ADD, n2.lanewise(MUL, lo)).lanewise(ADD, n2.lanewise(VectorOperators.LSHR, 4).lanewise(MUL, mixed));
        s3 = s3.lanewise(ADD, n3.lanewise(MUL, lo)).lanewise(ADD, n3.lanewise(VectorOperators.LSHR, 4).lanewise(MUL, mixed));
      }
      // Close the block: its f16 scales widened as finiteF16 does, written out (no call here).
      long sb = 2L * L * b;
      IntVector e0 = (IntVector) ShortVector.fromMemorySegment(S, g0, so0 + sb, LE).convertShape(VectorOperators.S2I, I, 0);
      FloatVector d0 = e0.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f);
      IntVector e1 = (IntVector) ShortVector.fromMemorySegment(S, g1, so1 + sb, LE).convertShape(VectorOperators.S2I, I, 0);
      FloatVector d1 = e1.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f);
      IntVector e2 = (IntVector) ShortVector.fromMemorySegment(S, g2, so2 + sb, LE).convertShape(VectorOperators.S2I, I, 0);
      FloatVector d2 = e2.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f);
      IntVector e3 = (IntVector) ShortVector.fromMemorySegment(S, g3, so3 + sb, LE).convertShape(VectorOperators.S2I, I, 0);
      FloatVector d3 = e3.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).viewAsFloatingLanes().mul(0x1p112f);
      int offset = 8 * inputSums[xbi];
      float inputScale = inputScales[xbi];
      IntVector w0 = (IntVector) s0.reinterpretShape(I, 0);
      IntVector i0 = w0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
          .add(w0.lanewise(VectorOperators.ASHR, 16)).sub(offset);
      IntVector w1 = (IntVector) s1.reinterpretShape(I, 0);
      IntVector i1 = w1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
          .add(w1.lanewise(VectorOperators.ASHR, 16)).sub(offset);
      IntVector w2 = (IntVector) s2.reinterpretShape(I, 0);
      IntVector i2 = w2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
          .add(w2.lanewise(VectorOperators.ASHR, 16)).sub(offset);
      IntVector w3 = (IntVector) s3.reinterpretShape(I, 0);
      IntVector i3 = w3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
          .add(w3.lanewise(VectorOperators.ASHR, 16)).sub(offset);
      a0 = ((FloatVector) i0.convertShape(VectorOperators.I2F, F, 0)).fma(d0.mul(inputScale), a0);
      a1 = ((FloatVector) i1.convertShape(VectorOperators.I2F, F, 0)).fma(d1.mul(inputScale), a1);
      a2 = ((FloatVector) i2.convertShape(VectorOperators.I2F, F, 0)).fma(d2.mul(inputScale), a2);
      a3 = ((FloatVector) i3.convertShape(VectorOperators.I2F, F, 0)).fma(d3.mul(inputScale), a3);
      if (--blocksLeft == 0) {
        // The end of a group in every stream: its rows are done.
        a0.intoArray(acc, at);
        a1.intoArray(acc, at + L);
        a2.intoArray(acc, at + 2 * L);
        a3.intoArray(acc, at + 3 * L);
        at += 4 * L;
        a0 = FloatVector.zero(F);
        a1 = a0;
        a2 = a0;
        a3 = a0;
        blocksLeft = blocks;
        xbi = xb - 1;
      }
    }
  }


  /**
   * Several tokens: pairs of groups are widened to float32 a k-block at a time into a panel that
   * stays in cache, then multiplied with the tokens by register-blocked micro-kernels (2 groups x
   * 12, 4 or 1 tokens) that broadcast one input value per column; the partial sums wait in a
   * per-thread buffer between k-blocks (stored and reloaded exactly, so the chain is unbroken), and
   * the last k-block writes them to {@code out}. The pairs go in blocks of {@link
   * #PAIRS_PER_BLOCK}, k-block by k-block within a block, so that a k-block of the tokens is read
   * from L2 by all the pairs of a block.
   */
  private static void panelProduct(
      PackedMatrix w, float[] xp, int tokens, float[] out, int outOffset, int groupStart, int groupEnd) {
    int cols = w.cols();
    int rows = w.rows();
    float[] panel = PACKED_PANEL.get();
    float[] acc = pairSums(tokens, groupStart, groupEnd);
    // Blocks of up to PAIRS_PER_BLOCK group pairs: each k-block of the tokens (KC columns of all
    // of them) serves every pair of the block while it is in the core's L2, rather than the whole
    // input streaming from L3 once per pair.
    for (int b0 = groupStart; b0 < groupEnd; b0 += 2 * PAIRS_PER_BLOCK) {
      int b1 = Math.min(groupEnd, b0 + 2 * PAIRS_PER_BLOCK);
      for (int k0 = 0; k0 < cols; k0 += KC) {
        int k1 = Math.min(cols, k0 + KC);
        boolean first = k0 == 0;
        int n = k1 - k0;
        for (int g = b0; g < b1; g += 2) {
          widenGroup(w, g, k0, k1, panel, 0);
          if (g + 1 < b1) {
            widenGroup(w, g + 1, k0, k1, panel, KC * L);
          } else {
            java.util.Arrays.fill(panel, KC * L, KC * L + n * L, 0f);
          }
          int at = (g - b0) / 2 * tokens * 2 * L;
          // The last k-block of a pair of whole groups stores its sums straight into out (a copy
          // pass over the buffer cost ~8 % of a product); the others into the buffer.
          boolean direct = k1 == cols && directPair(g, b1, rows);
          float[] dst = direct ? out : acc;
          int ds = direct ? rows : 2 * L;
          int t = 0;
          for (; t + 12 <= tokens; t += 12) {
            int d = sumsAt(direct, outOffset, rows, g, at, t);
            micro12(panel, n, xp, t * cols + 12 * k0, acc, at + t * 2 * L, first, dst, d, ds);
          }
          for (; t + 4 <= tokens; t += 4) {
            int d = sumsAt(direct, outOffset, rows, g, at, t);
            micro4(panel, n, xp, t * cols + 4 * k0, acc, at + t * 2 * L, first, dst, d, ds);
          }
          for (; t < tokens; t++) {
            int d = sumsAt(direct, outOffset, rows, g, at, t);
            micro1(panel, n, xp, t * cols + k0, acc, at + t * 2 * L, first, dst, d);
          }
        }
      }
      copyPairSums(acc, b0, b1, tokens, rows, out, outOffset);
    }
  }

  /**
   * Where token t's sums of the pair of groups starting at g go: {@code out} at {@code outOffset}
   * ({@code direct}) or the pair's place {@code at} in the pair-block buffer ({@link #pairSums}).
   */
  private static int sumsAt(boolean direct, int outOffset, int rows, int g, int at, int t) {
    return direct ? outOffset + t * rows + g * L : at + t * 2 * L;
  }

  /** Whether the pair of groups starting at g (of a block ending at b1) has two whole groups of rows. */
  private static boolean directPair(int g, int b1, int rows) {
    return g + 1 < b1 && (g + 2) * L <= rows;
  }

  /**
   * The per-thread buffer of running sums for a block of group pairs ({@link #panelProduct},
   * {@link #blockPanelProduct}): pair p's token t at {@code (p * tokens + t) * 2 L}, its two groups
   * side by side.
   */
  private static float[] pairSums(int tokens, int groupStart, int groupEnd) {
    int pairs = Math.min(PAIRS_PER_BLOCK, (groupEnd - groupStart + 1) / 2);
    float[] acc = PACKED_ACC.get();
    if (acc.length < pairs * tokens * 2 * L) {
      acc = new float[pairs * tokens * 2 * L];
      PACKED_ACC.set(acc);
    }
    return acc;
  }

  /** Copies to {@code out} the sums of the block's groups [b0, b1) whose pair was not stored directly. */
  private static void copyPairSums(float[] acc, int b0, int b1, int tokens, int rows, float[] out, int outOffset) {
    for (int g = b0; g < b1; g++) {
      if (directPair(b0 + ((g - b0) & ~1), b1, rows)) {
        continue;
      }
      int row = g * L;
      int valid = Math.min(L, rows - row);
      int at = (g - b0) / 2 * tokens * 2 * L + ((g - b0) & 1) * L;
      for (int t = 0; t < tokens; t++) {
        System.arraycopy(acc, at + 2 * t * L, out, outOffset + t * rows + row, valid);
      }
    }
  }

  /** Per-thread f32 block scales of a panel's k-block: {@code [blocks][2 groups][L]}. */
  private static final ThreadLocal<float[]> PACKED_SCALES = ThreadLocal.withInitial(() -> new float[2 * (KC / 32) * L]);

  /**
   * Several tokens times Q8_0 groups with the decode loop's arithmetic (block partial sums, see
   * {@link #groupsQ8}): pairs of groups are widened a k-block at a time, unscaled, into the panel
   * and their block scales into a second one; the micro-kernels ({@link #q8Tokens6} and narrower)
   * take each 32-column block's partial sums from zero in registers and fuse them, times the
   * scales, into the running sums, which wait in a per-thread buffer between k-blocks and go to
   * {@code out} after the last. Pairs go in blocks of {@link #PAIRS_PER_BLOCK} as in {@link
   * #panelProduct}.
   */
  private static void blockPanelProduct(
      PackedMatrix w, float[] xp, int tokens, float[] out, int outOffset, int groupStart, int groupEnd) {
    int cols = w.cols();
    int rows = w.rows();
    float[] panel = PACKED_PANEL.get();
    float[] scales = PACKED_SCALES.get();
    float[] acc = pairSums(tokens, groupStart, groupEnd);
    MemorySegment data = w.data();
    for (int b0 = groupStart; b0 < groupEnd; b0 += 2 * PAIRS_PER_BLOCK) {
      int b1 = Math.min(groupEnd, b0 + 2 * PAIRS_PER_BLOCK);
      for (int k0 = 0; k0 < cols; k0 += KC) {
        int k1 = Math.min(cols, k0 + KC);
        boolean first = k0 == 0;
        int nb = (k1 - k0) / 32;
        for (int g = b0; g < b1; g += 2) {
          int g1 = g + 1 < b1 ? g + 1 : g; // a lone last group pairs with itself (not stored)
          long base0 = w.valueStart(g);
          long base1 = w.valueStart(g1);
          long scales0 = w.scaleStart(g);
          long scales1 = w.scaleStart(g1);
          for (int j = 0; j < nb; j++) {
            int block = k0 / 32 + j;
            widenBlock(data, base0 + block * 32L * L, panel, j * 32 * L);
            widenBlock(data, base1 + block * 32L * L, panel, KC * L + j * 32 * L);
            finiteF16(data, scales0 + block * 2L * L, scales, j * 2 * L);
            finiteF16(data, scales1 + block * 2L * L, scales, j * 2 * L + L);
          }
          int at = (g - b0) / 2 * tokens * 2 * L;
          boolean direct = k1 == cols && directPair(g, b1, rows);
          float[] dst = direct ? out : acc;
          int ds = direct ? rows : 2 * L;
          int t = 0;
          for (; t + 12 <= tokens; t += 12) {
            for (int half = 0; half < 2; half++) {
              int u = t + 6 * half;
              int d = sumsAt(direct, outOffset, rows, g, at, u);
              q8Tokens6(panel, nb, scales, xp, t * cols + 12 * k0 + 6 * half, 12, acc, at + u * 2 * L, first, dst, d, ds);
            }
          }
          for (; t + 4 <= tokens; t += 4) {
            int d = sumsAt(direct, outOffset, rows, g, at, t);
            q8Tokens4(panel, nb, scales, xp, t * cols + 4 * k0, acc, at + t * 2 * L, first, dst, d, ds);
          }
          for (; t < tokens; t++) {
            int d = sumsAt(direct, outOffset, rows, g, at, t);
            q8Tokens1(panel, nb, scales, xp, t * cols + k0, acc, at + t * 2 * L, first, dst, d);
          }
        }
      }
      copyPairSums(acc, b0, b1, tokens, rows, out, outOffset);
    }
  }

  /**
   * 2 groups x 6 tokens over {@code nb} 32-column blocks of the Q8_0 panel: per block the partial
   * sums from zero (one FMA chain over its columns), then {@code sum = fma(partial, scale, sum)},
   * the sums starting from zero ({@code first}) or from {@code acc[ao ..]} (token j's two rows at
   * {@code ao + 2 j L}), ending at {@code dst[d + j ds ..]}. Token j's column c is {@code x[xo + xs
   * c + j]} (xs 12: half of a 12-token tile).
   */
  private static void q8Tokens6(
      float[] p, int nb, float[] sc, float[] x, int xo, int xs, float[] acc, int ao, boolean first,
      float[] dst, int d, int ds) {
    int q = KC * L;
    FloatVector s0, r0, s1, r1, s2, r2, s3, r3, s4, r4, s5, r5;
    if (first) {
      s0 = FloatVector.zero(F);
      r0 = s0; s1 = s0; r1 = s0; s2 = s0; r2 = s0; s3 = s0; r3 = s0; s4 = s0; r4 = s0; s5 = s0; r5 = s0;
    } else {
      s0 = FloatVector.fromArray(F, acc, ao); r0 = FloatVector.fromArray(F, acc, ao + L);
      s1 = FloatVector.fromArray(F, acc, ao + 2 * L); r1 = FloatVector.fromArray(F, acc, ao + 3 * L);
      s2 = FloatVector.fromArray(F, acc, ao + 4 * L); r2 = FloatVector.fromArray(F, acc, ao + 5 * L);
      s3 = FloatVector.fromArray(F, acc, ao + 6 * L); r3 = FloatVector.fromArray(F, acc, ao + 7 * L);
      s4 = FloatVector.fromArray(F, acc, ao + 8 * L); r4 = FloatVector.fromArray(F, acc, ao + 9 * L);
      s5 = FloatVector.fromArray(F, acc, ao + 10 * L); r5 = FloatVector.fromArray(F, acc, ao + 11 * L);
    }
    for (int b = 0; b < nb; b++) {
      FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0;
      FloatVector a3 = a0, b3 = a0, a4 = a0, b4 = a0, a5 = a0, b5 = a0;
      for (int c = 32 * b; c < 32 * b + 32; c++) {
        int xc = xo + xs * c;
        FloatVector v = FloatVector.fromArray(F, p, c * L);
        FloatVector w = FloatVector.fromArray(F, p, q + c * L);
        FloatVector u = FloatVector.broadcast(F, x[xc]);
        a0 = v.fma(u, a0);
        b0 = w.fma(u, b0);
        u = FloatVector.broadcast(F, x[xc + 1]);
        a1 = v.fma(u, a1);
        b1 = w.fma(u, b1);
        u = FloatVector.broadcast(F, x[xc + 2]);
        a2 = v.fma(u, a2);
        b2 = w.fma(u, b2);
        u = FloatVector.broadcast(F, x[xc + 3]);
        a3 = v.fma(u, a3);
        b3 = w.fma(u, b3);
        u = FloatVector.broadcast(F, x[xc + 4]);
        a4 = v.fma(u, a4);
        b4 = w.fma(u, b4);
        u = FloatVector.broadcast(F, x[xc + 5]);
        a5 = v.fma(u, a5);
        b5 = w.fma(u, b5);
      }
      FloatVector d0 = FloatVector.fromArray(F, sc, b * 2 * L);
      FloatVector d1 = FloatVector.fromArray(F, sc, b * 2 * L + L);
      s0 = a0.fma(d0, s0); r0 = b0.fma(d1, r0);
      s1 = a1.fma(d0, s1); r1 = b1.fma(d1, r1);
      s2 = a2.fma(d0, s2); r2 = b2.fma(d1, r2);
      s3 = a3.fma(d0, s3); r3 = b3.fma(d1, r3);
      s4 = a4.fma(d0, s4); r4 = b4.fma(d1, r4);
      s5 = a5.fma(d0, s5); r5 = b5.fma(d1, r5);
    }
    s0.intoArray(dst, d); r0.intoArray(dst, d + L);
    s1.intoArray(dst, d + ds); r1.intoArray(dst, d + ds + L);
    s2.intoArray(dst, d + 2 * ds); r2.intoArray(dst, d + 2 * ds + L);
    s3.intoArray(dst, d + 3 * ds); r3.intoArray(dst, d + 3 * ds + L);
    s4.intoArray(dst, d + 4 * ds); r4.intoArray(dst, d + 4 * ds + L);
    s5.intoArray(dst, d + 5 * ds); r5.intoArray(dst, d + 5 * ds + L);
  }

  /** As {@link #q8Tokens6} for a 4-token tile (token j's column c at {@code x[xo + 4 c + j]}). */
  private static void q8Tokens4(
      float[] p, int nb, float[] sc, float[] x, int xo, float[] acc, int ao, boolean first,
      float[] dst, int d, int ds) {
    int q = KC * L;
    FloatVector s0, r0, s1, r1, s2, r2, s3, r3;
    if (first) {
      s0 = FloatVector.zero(F);
      r0 = s0; s1 = s0; r1 = s0; s2 = s0; r2 = s0; s3 = s0; r3 = s0;
    } else {
      s0 = FloatVector.fromArray(F, acc, ao); r0 = FloatVector.fromArray(F, acc, ao + L);
      s1 = FloatVector.fromArray(F, acc, ao + 2 * L); r1 = FloatVector.fromArray(F, acc, ao + 3 * L);
      s2 = FloatVector.fromArray(F, acc, ao + 4 * L); r2 = FloatVector.fromArray(F, acc, ao + 5 * L);
      s3 = FloatVector.fromArray(F, acc, ao + 6 * L); r3 = FloatVector.fromArray(F, acc, ao + 7 * L);
    }
    for (int b = 0; b < nb; b++) {
      FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
      for (int c = 32 * b; c < 32 * b + 32; c++) {
        int xc = xo + 4 * c;
        FloatVector v = FloatVector.fromArray(F, p, c * L);
        FloatVector w = FloatVector.fromArray(F, p, q + c * L);
        FloatVector u = FloatVector.broadcast(F, x[xc]);
        a0 = v.fma(u, a0);
        b0 = w.fma(u, b0);
        u = FloatVector.broadcast(F, x[xc + 1]);
        a1 = v.fma(u, a1);
        b1 = w.fma(u, b1);
        u = FloatVector.broadcast(F, x[xc + 2]);
        a2 = v.fma(u, a2);
        b2 = w.fma(u, b2);
        u = FloatVector.broadcast(F, x[xc + 3]);
        a3 = v.fma(u, a3);
        b3 = w.fma(u, b3);
      }
      FloatVector d0 = FloatVector.fromArray(F, sc, b * 2 * L);
      FloatVector d1 = FloatVector.fromArray(F, sc, b * 2 * L + L);
      s0 = a0.fma(d0, s0); r0 = b0.fma(d1, r0);
      s1 = a1.fma(d0, s1); r1 = b1.fma(d1, r1);
      s2 = a2.fma(d0, s2); r2 = b2.fma(d1, r2);
      s3 = a3.fma(d0, s3); r3 = b3.fma(d1, r3);
    }
    s0.intoArray(dst, d); r0.intoArray(dst, d + L);
    s1.intoArray(dst, d + ds); r1.intoArray(dst, d + ds + L);
    s2.intoArray(dst, d + 2 * ds); r2.intoArray(dst, d + 2 * ds + L);
    s3.intoArray(dst, d + 3 * ds); r3.intoArray(dst, d + 3 * ds + L);
  }

  /** As {@link #q8Tokens6} for one token (column c at {@code x[xo + c]}). */
  private static void q8Tokens1(
      float[] p, int nb, float[] sc, float[] x, int xo, float[] acc, int ao, boolean first, float[] dst, int d) {
    int q = KC * L;
    FloatVector s0 = first ? FloatVector.zero(F) : FloatVector.fromArray(F, acc, ao);
    FloatVector r0 = first ? FloatVector.zero(F) : FloatVector.fromArray(F, acc, ao + L);
    for (int b = 0; b < nb; b++) {
      FloatVector a0 = FloatVector.zero(F);
      FloatVector b0 = a0;
      for (int c = 32 * b; c < 32 * b + 32; c++) {
        FloatVector u = FloatVector.broadcast(F, x[xo + c]);
        a0 = FloatVector.fromArray(F, p, c * L).fma(u, a0);
        b0 = FloatVector.fromArray(F, p, q + c * L).fma(u, b0);
      }
      s0 = a0.fma(FloatVector.fromArray(F, sc, b * 2 * L), s0);
      r0 = b0.fma(FloatVector.fromArray(F, sc, b * 2 * L + L), r0);
    }
    s0.intoArray(dst, d);
    r0.intoArray(dst, d + L);
  }

  /** Widens one Q8_0 block of a group, unscaled, into the panel. */
  private static void widenBlock(MemorySegment data, long block, float[] panel, int off) {
    for (int j = 0; j < 32; j++) {
      ((FloatVector) ByteVector.fromMemorySegment(B, data, block + (long) j * L, LE)
          .convertShape(VectorOperators.B2F, F, 0)).intoArray(panel, off + j * L);
    }
  }

  /** Widens columns {@code k0 .. k1} of group {@code g} into {@code panel[off + (c - k0) * L + i]}. */
  private static void widenGroup(PackedMatrix w, int g, int k0, int k1, float[] panel, int off) {
    MemorySegment data = w.data();
    long base = g * w.groupBytes();
    switch (w.dtype()) {
      case F32 -> MemorySegment.copy(data, ScalarKernels.F32, base + 4L * k0 * L, panel, off, (k1 - k0) * L);
      case BF16 -> {
        // k0 is even (KC is); k1 may be odd at the last column.
        for (int c = k0; c < k1; c += 2) {
          IntVector pair = IntVector.fromMemorySegment(I, data, base + 2L * c * L, LE);
          pair.lanewise(VectorOperators.LSHL, 16).viewAsFloatingLanes().intoArray(panel, off + (c - k0) * L);
          if (c + 1 < k1) {
            pair.and(0xFFFF0000).viewAsFloatingLanes().intoArray(panel, off + (c + 1 - k0) * L);
          }
        }
      }
      case F16 -> {
        for (int c = k0; c < k1; c++) {
          f16(data, base + 2L * c * L).intoArray(panel, off + (c - k0) * L);
        }
      }
      case Q8_0, Q4_0 -> throw new AssertionError("quantized groups are widened block by block");
    }
  }

  /** Tokens per tile of the arranged tokens: the widest micro-kernel's. */
  private static final int TILE = 12;

  @Override
  public int tokenTile() {
    return TILE;
  }

  /**
   * Tokens in the order the micro-kernels read them: tiles of 12 tokens, then of 4, then single
   * tokens (as the micro-kernels take them), tile by tile, each tile column by column ({@code
   * [cols][width]}), so that a tile starting at token t holds column c of its j-th token at {@code
   * t * cols + c * width + j}. The micro-kernels then broadcast from one pointer with constant
   * offsets instead of computing one address per token, integer work that competed with the
   * multiply-adds for the vector ports (prefill products 1.2-1.3x faster, measured). The last
   * 12-token tile may be partial: its tokens go in 4-token tiles and single tokens.
   */
  @Override
  public void tileTokens(float[] x, int xOffset, int tokens, int cols, int tileStart, int tileEnd, float[] tiles) {
    for (int i = tileStart; i < tileEnd; i++) {
      int t = TILE * i;
      int end = Math.min(tokens, t + TILE);
      if (end - t == TILE) {
        interleave(x, xOffset + t * cols, cols, TILE, tiles, t * cols);
        continue;
      }
      for (; t + 4 <= end; t += 4) {
        interleave(x, xOffset + t * cols, cols, 4, tiles, t * cols);
      }
      System.arraycopy(x, xOffset + t * cols, tiles, t * cols, (end - t) * cols);
    }
  }

  private static final ThreadLocal<float[]> OWN_TILES = ThreadLocal.withInitial(() -> new float[0]);

  /** The tokens arranged by this thread alone, into a buffer of its own (calls without shared tiles). */
  private float[] ownTiles(float[] x, int xOffset, int tokens, int cols) {
    float[] tiles = OWN_TILES.get();
    if (tiles.length < tokens * cols) {
      tiles = new float[tokens * cols];
      OWN_TILES.set(tiles);
    }
    tileTokens(x, xOffset, tokens, cols, 0, (tokens + TILE - 1) / TILE, tiles);
    return tiles;
  }

  private static void interleave(float[] x, int from, int cols, int width, float[] tiles, int to) {
    for (int c = 0; c < cols; c++) {
      int at = to + c * width;
      for (int j = 0; j < width; j++) {
        tiles[at + j] = x[from + j * cols + c];
      }
    }
  }

  /**
   * 2 groups x 12 tokens over n panel columns; the tokens' column c at {@code x[xo + 12 c ..]} (see
   * {@link #tileTokens}).
   */
  private static void micro12(
      float[] p, int n, float[] x, int xo, float[] acc, int ao, boolean first, float[] dst, int d, int ds) {
    int q = KC * L;
    FloatVector a0, b0, a1, b1, a2, b2, a3, b3, a4, b4, a5, b5;
    FloatVector a6, b6, a7, b7, a8, b8, a9, b9, a10, b10, a11, b11;
    if (first) {
      a0 = FloatVector.zero(F);
      b0 = a0; a1 = a0; b1 = a0; a2 = a0; b2 = a0; a3 = a0; b3 = a0; a4 = a0; b4 = a0; a5 = a0; b5 = a0;
      a6 = a0; b6 = a0; a7 = a0; b7 = a0; a8 = a0; b8 = a0; a9 = a0; b9 = a0; a10 = a0; b10 = a0; a11 = a0; b11 = a0;
    } else {
      a0 = FloatVector.fromArray(F, acc, ao); b0 = FloatVector.fromArray(F, acc, ao + L);
      a1 = FloatVector.fromArray(F, acc, ao + 2 * L); b1 = FloatVector.fromArray(F, acc, ao + 3 * L);
      a2 = FloatVector.fromArray(F, acc, ao + 4 * L); b2 = FloatVector.fromArray(F, acc, ao + 5 * L);
      a3 = FloatVector.fromArray(F, acc, ao + 6 * L); b3 = FloatVector.fromArray(F, acc, ao + 7 * L);
      a4 = FloatVector.fromArray(F, acc, ao + 8 * L); b4 = FloatVector.fromArray(F, acc, ao + 9 * L);
      a5 = FloatVector.fromArray(F, acc, ao + 10 * L); b5 = FloatVector.fromArray(F, acc, ao + 11 * L);
      a6 = FloatVector.fromArray(F, acc, ao + 12 * L); b6 = FloatVector.fromArray(F, acc, ao + 13 * L);
      a7 = FloatVector.fromArray(F, acc, ao + 14 * L); b7 = FloatVector.fromArray(F, acc, ao + 15 * L);
      a8 = FloatVector.fromArray(F, acc, ao + 16 * L); b8 = FloatVector.fromArray(F, acc, ao + 17 * L);
      a9 = FloatVector.fromArray(F, acc, ao + 18 * L); b9 = FloatVector.fromArray(F, acc, ao + 19 * L);
      a10 = FloatVector.fromArray(F, acc, ao + 20 * L); b10 = FloatVector.fromArray(F, acc, ao + 21 * L);
      a11 = FloatVector.fromArray(F, acc, ao + 22 * L); b11 = FloatVector.fromArray(F, acc, ao + 23 * L);
    }
    for (int c = 0; c < n; c++) {
      int xc = xo + 12 * c;
      FloatVector v = FloatVector.fromArray(F, p, c * L);
      FloatVector w = FloatVector.fromArray(F, p, q + c * L);
      FloatVector u = FloatVector.broadcast(F, x[xc]);
      a0 = v.fma(u, a0);
      b0 = w.fma(u, b0);
      u = FloatVector.broadcast(F, x[xc + 1]);
      a1 = v.fma(u, a1);
      b1 = w.fma(u, b1);
      u = FloatVector.broadcast(F, x[xc + 2]);
      a2 = v.fma(u, a2);
      b2 = w.fma(u, b2);
      u = FloatVector.broadcast(F, x[xc + 3]);
      a3 = v.fma(u, a3);
      b3 = w.fma(u, b3);
      u = FloatVector.broadcast(F, x[xc + 4]);
      a4 = v.fma(u, a4);
      b4 = w.fma(u, b4);
      u = FloatVector.broadcast(F, x[xc + 5]);
      a5 = v.fma(u, a5);
      b5 = w.fma(u, b5);
      u = FloatVector.broadcast(F, x[xc + 6]);
      a6 = v.fma(u, a6);
      b6 = w.fma(u, b6);
      u = FloatVector.broadcast(F, x[xc + 7]);
      a7 = v.fma(u, a7);
      b7 = w.fma(u, b7);
      u = FloatVector.broadcast(F, x[xc + 8]);
      a8 = v.fma(u, a8);
      b8 = w.fma(u, b8);
      u = FloatVector.broadcast(F, x[xc + 9]);
      a9 = v.fma(u, a9);
      b9 = w.fma(u, b9);
      u = FloatVector.broadcast(F, x[xc + 10]);
      a10 = v.fma(u, a10);
      b10 = w.fma(u, b10);
      u = FloatVector.broadcast(F, x[xc + 11]);
      a11 = v.fma(u, a11);
      b11 = w.fma(u, b11);
    }
    a0.intoArray(dst, d); b0.intoArray(dst, d + L);
    a1.intoArray(dst, d + ds); b1.intoArray(dst, d + ds + L);
    a2.intoArray(dst, d + 2 * ds); b2.intoArray(dst, d + 2 * ds + L);
    a3.intoArray(dst, d + 3 * ds); b3.intoArray(dst, d + 3 * ds + L);
    a4.intoArray(dst, d + 4 * ds); b4.intoArray(dst, d + 4 * ds + L);
    a5.intoArray(dst, d + 5 * ds); b5.intoArray(dst, d + 5 * ds + L);
    a6.intoArray(dst, d + 6 * ds); b6.intoArray(dst, d + 6 * ds + L);
    a7.intoArray(dst, d + 7 * ds); b7.intoArray(dst, d + 7 * ds + L);
    a8.intoArray(dst, d + 8 * ds); b8.intoArray(dst, d + 8 * ds + L);
    a9.intoArray(dst, d + 9 * ds); b9.intoArray(dst, d + 9 * ds + L);
    a10.intoArray(dst, d + 10 * ds); b10.intoArray(dst, d + 10 * ds + L);
    a11.intoArray(dst, d + 11 * ds); b11.intoArray(dst, d + 11 * ds + L);
  }

  /** 2 groups x 4 tokens. */
  private static void micro4(
      float[] p, int n, float[] x, int xo, float[] acc, int ao, boolean first, float[] dst, int d, int ds) {
    int q = KC * L;
    FloatVector a0, b0, a1, b1, a2, b2, a3, b3;
    if (first) {
      a0 = FloatVector.zero(F);
      b0 = a0; a1 = a0; b1 = a0; a2 = a0; b2 = a0; a3 = a0; b3 = a0;
    } else {
      a0 = FloatVector.fromArray(F, acc, ao); b0 = FloatVector.fromArray(F, acc, ao + L);
      a1 = FloatVector.fromArray(F, acc, ao + 2 * L); b1 = FloatVector.fromArray(F, acc, ao + 3 * L);
      a2 = FloatVector.fromArray(F, acc, ao + 4 * L); b2 = FloatVector.fromArray(F, acc, ao + 5 * L);
      a3 = FloatVector.fromArray(F, acc, ao + 6 * L); b3 = FloatVector.fromArray(F, acc, ao + 7 * L);
    }
    for (int c = 0; c < n; c++) {
      int xc = xo + 4 * c;
      FloatVector v = FloatVector.fromArray(F, p, c * L);
      FloatVector w = FloatVector.fromArray(F, p, q + c * L);
      FloatVector u = FloatVector.broadcast(F, x[xc]);
      a0 = v.fma(u, a0);
      b0 = w.fma(u, b0);
      u = FloatVector.broadcast(F, x[xc + 1]);
      a1 = v.fma(u, a1);
      b1 = w.fma(u, b1);
      u = FloatVector.broadcast(F, x[xc + 2]);
      a2 = v.fma(u, a2);
      b2 = w.fma(u, b2);
      u = FloatVector.broadcast(F, x[xc + 3]);
      a3 = v.fma(u, a3);
      b3 = w.fma(u, b3);
    }
    a0.intoArray(dst, d); b0.intoArray(dst, d + L);
    a1.intoArray(dst, d + ds); b1.intoArray(dst, d + ds + L);
    a2.intoArray(dst, d + 2 * ds); b2.intoArray(dst, d + 2 * ds + L);
    a3.intoArray(dst, d + 3 * ds); b3.intoArray(dst, d + 3 * ds + L);
  }

  /** 2 groups x 1 token. */
  private static void micro1(
      float[] p, int n, float[] x, int xo, float[] acc, int ao, boolean first, float[] dst, int d) {
    int q = KC * L;
    FloatVector a0 = first ? FloatVector.zero(F) : FloatVector.fromArray(F, acc, ao);
    FloatVector b0 = first ? FloatVector.zero(F) : FloatVector.fromArray(F, acc, ao + L);
    for (int c = 0; c < n; c++) {
      FloatVector u = FloatVector.broadcast(F, x[xo + c]);
      a0 = FloatVector.fromArray(F, p, c * L).fma(u, a0);
      b0 = FloatVector.fromArray(F, p, q + c * L).fma(u, b0);
    }
    a0.intoArray(dst, d);
    b0.intoArray(dst, d + L);
  }

  /** out[t, firstRow + i] = panel[i, :] . x[t, :] for i < panelRows and all tokens. */
  private static void multiplyPanel(
      float[] panel, int firstRow, int panelRows, int cols, int rows, float[] x, int xOffset,
      int tokens, float[] out, int outOffset) {
    for (int t = 0; t < tokens; t += 3) {
      int validTokens = Math.min(3, tokens - t);
      for (int i = 0; i < panelRows; i += 4) {
        kernel4x3(panel, i, Math.min(4, panelRows - i), cols, x, xOffset, t, validTokens, out,
            outOffset + firstRow, rows);
      }
    }
  }

  /**
   * Rows {@code row0 .. row0 + validRows} of the panel times tokens {@code t0 .. t0 + validTokens}
   * (at most 4 x 3; missing rows and tokens repeat the last valid one and are not stored).
   */
  private static void kernel4x3(
      float[] w, int row0, int validRows, int cols, float[] x, int xOffset, int t0,
      int validTokens, float[] out, int o, int rows) {
    int w0 = row0 * cols;
    int w1 = (row0 + Math.min(1, validRows - 1)) * cols;
    int w2 = (row0 + Math.min(2, validRows - 1)) * cols;
    int w3 = (row0 + Math.min(3, validRows - 1)) * cols;
    int x0 = xOffset + t0 * cols;
    int x1 = xOffset + (t0 + Math.min(1, validTokens - 1)) * cols;
    int x2 = xOffset + (t0 + Math.min(2, validTokens - 1)) * cols;
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00;
    int upper = F.loopBound(cols);
    for (int c = 0; c < upper; c += L) {
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
    float[] lanes = new float[12 * L];
    a00.intoArray(lanes, 0);
    a01.intoArray(lanes, L);
    a02.intoArray(lanes, 2 * L);
    a10.intoArray(lanes, 3 * L);
    a11.intoArray(lanes, 4 * L);
    a12.intoArray(lanes, 5 * L);
    a20.intoArray(lanes, 6 * L);
    a21.intoArray(lanes, 7 * L);
    a22.intoArray(lanes, 8 * L);
    a30.intoArray(lanes, 9 * L);
    a31.intoArray(lanes, 10 * L);
    a32.intoArray(lanes, 11 * L);
    float[] sums = new float[12];
    laneSums(lanes, sums, 12);
    int[] wRow = {w0, w1, w2, w3};
    int[] xRow = {x0, x1, x2};
    for (int i = 0; i < validRows; i++) {
      for (int j = 0; j < validTokens; j++) {
        float s = sums[i * 3 + j];
        for (int c = upper; c < cols; c++) {
          s += w[wRow[i] + c] * x[xRow[j] + c];
        }
        out[o + (t0 + j) * rows + row0 + i] = s;
      }
    }
  }

  /**
   * The L lanes at {@code lanes[offset ..]} (a scratch array, summed in place) added as a fixed
   * pairwise tree. Not {@code reduceLanes}: its order may differ between interpreted and compiled
   * code, and results must not depend on the JIT. The vectors reach it through an array: a vector
   * passed to a method C2 does not inline is boxed.
   */
  private static float laneSum(float[] lanes, int offset) {
    for (int width = L / 2; width >= 1; width /= 2) {
      for (int i = 0; i < width; i++) {
        lanes[offset + i] += lanes[offset + i + width];
      }
    }
    return lanes[offset];
  }

  /** {@code sums[k] = laneSum(lanes, k * L)} for {@code k < count}. */
  private static void laneSums(float[] lanes, float[] sums, int count) {
    for (int k = 0; k < count; k++) {
      sums[k] = laneSum(lanes, k * L);
    }
  }

  // ---- decode: up to four weight rows times one token, straight from the weight bytes ----

  /** out[r] for rows {@code row0 .. row0 + validRows} (at most 4; missing rows repeat the last). */
  private static void decodeRows(
      WeightMatrix w, int row0, int validRows, float[] x, int xo, float[] out, int outOffset) {
    MemorySegment data = w.data();
    int cols = w.cols();
    int r1 = row0 + Math.min(1, validRows - 1);
    int r2 = row0 + Math.min(2, validRows - 1);
    int r3 = row0 + Math.min(3, validRows - 1);
    // Sums are stored inside each kernel: vectors returned from a method would be boxed.
    float[] sums = new float[4];
    float[] pair = new float[2];
    if (w.dtype() == DType.F32 && data.heapBase().orElse(null) instanceof float[] array) {
      int first = heapFloatIndex(data);
      rows4F32Array(array, first + row0 * cols, first + r1 * cols, first + r2 * cols,
          first + r3 * cols, cols, x, xo, sums);
    } else {
      long rowBytes = w.rowBytes();
      long b0 = row0 * rowBytes, b1 = r1 * rowBytes, b2 = r2 * rowBytes, b3 = r3 * rowBytes;
      switch (w.dtype()) {
        case F32 -> rows4F32(data, b0, b1, b2, b3, cols, x, xo, sums);
        case BF16 -> rows4Bf16(data, b0, b1, b2, b3, cols, x, xo, sums);
        case F16 -> {
          rows2F16(data, b0, b1, cols, x, xo, sums);
          if (validRows > 2) {
            rows2F16(data, b2, b3, cols, x, xo, pair);
          }
        }
        case Q8_0 -> {
          rows2Q8(data, b0, b1, cols / 32, x, xo, sums);
          if (validRows > 2) {
            rows2Q8(data, b2, b3, cols / 32, x, xo, pair);
          }
        }
        case Q4_0 -> {
          rows2Q4(data, b0, b1, cols / 32, x, xo, sums);
          if (validRows > 2) {
            rows2Q4(data, b2, b3, cols / 32, x, xo, pair);
          }
        }
      }
      if (validRows > 2 && (w.dtype() == DType.F16 || w.dtype().isQuantized())) {
        sums[2] = pair[0];
        sums[3] = pair[1];
      }
    }
    int upper = F.loopBound(cols);
    float[] tail = upper < cols ? new float[cols - upper] : null;
    for (int i = 0; i < validRows; i++) {
      float s = sums[i];
      if (tail != null) {
        ScalarKernels.readRow(w, row0 + i, upper, cols, tail, 0);
        for (int c = upper; c < cols; c++) {
          s += tail[c - upper] * x[xo + c];
        }
      }
      out[outOffset + row0 + i] = s;
    }
  }

  private static void rows4F32Array(
      float[] w, int w0, int w1, int w2, int w3, int cols, float[] x, int xo,
      float[] sums) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    for (int c = 0; c < F.loopBound(cols); c += L) {
      FloatVector u = FloatVector.fromArray(F, x, xo + c);
      a0 = FloatVector.fromArray(F, w, w0 + c).fma(u, a0);
      a1 = FloatVector.fromArray(F, w, w1 + c).fma(u, a1);
      a2 = FloatVector.fromArray(F, w, w2 + c).fma(u, a2);
      a3 = FloatVector.fromArray(F, w, w3 + c).fma(u, a3);
    }
    float[] lanes = new float[4 * L];
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, L);
    a2.intoArray(lanes, 2 * L);
    a3.intoArray(lanes, 3 * L);
    laneSums(lanes, sums, 4);
  }

  private static void rows4F32(
      MemorySegment data, long b0, long b1, long b2, long b3, int cols, float[] x, int xo,
      float[] sums) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    long end = 4L * F.loopBound(cols);
    int xi = xo;
    for (long c = 0; c < end; c += 4L * L, xi += L) {
      FloatVector u = FloatVector.fromArray(F, x, xi);
      a0 = FloatVector.fromMemorySegment(F, data, b0 + c, LE).fma(u, a0);
      a1 = FloatVector.fromMemorySegment(F, data, b1 + c, LE).fma(u, a1);
      a2 = FloatVector.fromMemorySegment(F, data, b2 + c, LE).fma(u, a2);
      a3 = FloatVector.fromMemorySegment(F, data, b3 + c, LE).fma(u, a3);
    }
    float[] lanes = new float[4 * L];
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, L);
    a2.intoArray(lanes, 2 * L);
    a3.intoArray(lanes, 3 * L);
    laneSums(lanes, sums, 4);
  }

  private static void rows4Bf16(
      MemorySegment data, long b0, long b1, long b2, long b3, int cols, float[] x, int xo,
      float[] sums) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    long end = 2L * F.loopBound(cols);
    int xi = xo;
    for (long c = 0; c < end; c += 2L * L, xi += L) {
      FloatVector u = FloatVector.fromArray(F, x, xi);
      a0 = bf16(data, b0 + c).fma(u, a0);
      a1 = bf16(data, b1 + c).fma(u, a1);
      a2 = bf16(data, b2 + c).fma(u, a2);
      a3 = bf16(data, b3 + c).fma(u, a3);
    }
    float[] lanes = new float[4 * L];
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, L);
    a2.intoArray(lanes, 2 * L);
    a3.intoArray(lanes, 3 * L);
    laneSums(lanes, sums, 4);
  }




  /**
   * F16, Q8_0 and Q4_0 take two rows at a time: with four, the widening code exceeds C2's inlining
   * node budget and the vectors get boxed.
   */
  private static void rows2F16(
      MemorySegment data, long b0, long b1, int cols, float[] x, int xo, float[] sums) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    long end = 2L * F.loopBound(cols);
    int xi = xo;
    for (long c = 0; c < end; c += 2L * L, xi += L) {
      FloatVector u = FloatVector.fromArray(F, x, xi);
      a0 = f16(data, b0 + c).fma(u, a0);
      a1 = f16(data, b1 + c).fma(u, a1);
    }
    float[] lanes = new float[2 * L];
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, L);
    laneSums(lanes, sums, 2);
  }

  /** Q8_0: widened weight = q * scale (exact in float32), then the same FMA chain as f32. */
  private static void rows2Q8(
      MemorySegment data, long b0, long b1, int blocks, float[] x, int xo, float[] sums) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    long end = 34L * blocks;
    int xi = xo;
    for (long o = 0; o < end; o += 34) {
      FloatVector d0 = scale(data, b0 + o), d1 = scale(data, b1 + o);
      for (int j = 0; j < 32; j += L, xi += L) {
        FloatVector u = FloatVector.fromArray(F, x, xi);
        a0 = q8(data, b0 + o + 2 + j).mul(d0).fma(u, a0);
        a1 = q8(data, b1 + o + 2 + j).mul(d1).fma(u, a1);
      }
    }
    float[] lanes = new float[2 * L];
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, L);
    laneSums(lanes, sums, 2);
  }

  /**
   * Q4_0: byte i of a block holds elements i (low nibble) and i + 16 (high nibble), offset by 8;
   * widened weight = (q - 8) * scale, exact.
   */
  private static void rows2Q4(
      MemorySegment data, long b0, long b1, int blocks, float[] x, int xo, float[] sums) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0;
    long end = 18L * blocks;
    int xi = xo;
    for (long o = 0; o < end; o += 18, xi += 32) {
      FloatVector d0 = scale(data, b0 + o), d1 = scale(data, b1 + o);
      for (int j = 0; j < 16; j += L) {
        FloatVector u = FloatVector.fromArray(F, x, xi + j);
        a0 = low(nibbles(data, b0 + o + 2 + j)).mul(d0).fma(u, a0);
        a1 = low(nibbles(data, b1 + o + 2 + j)).mul(d1).fma(u, a1);
      }
      for (int j = 0; j < 16; j += L) {
        FloatVector u = FloatVector.fromArray(F, x, xi + 16 + j);
        a0 = high(nibbles(data, b0 + o + 2 + j)).mul(d0).fma(u, a0);
        a1 = high(nibbles(data, b1 + o + 2 + j)).mul(d1).fma(u, a1);
      }
    }
    float[] lanes = new float[2 * L];
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, L);
    laneSums(lanes, sums, 2);
  }

  private static FloatVector scale(MemorySegment data, long block) {
    return FloatVector.broadcast(F, Float.float16ToFloat(data.get(ScalarKernels.I16, block)));
  }

  private static FloatVector q8(MemorySegment data, long offset) {
    return bytesToFloats(ByteVector.fromMemorySegment(B, data, offset, LE));
  }

  /** L packed Q4_0 bytes, sign-extended into int lanes (x86 has no byte shifts: work in ints). */
  private static IntVector nibbles(MemorySegment data, long offset) {
    return (IntVector) ByteVector.fromMemorySegment(B, data, offset, LE)
        .convertShape(VectorOperators.B2I, I, 0);
  }

  private static FloatVector low(IntVector packed) {
    return (FloatVector) packed.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0);
  }

  private static FloatVector high(IntVector packed) {
    return (FloatVector) packed.lanewise(VectorOperators.ASHR, 4).and(0x0F).sub(8)
        .convertShape(VectorOperators.I2F, F, 0);
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
        if (data.heapBase().orElse(null) instanceof float[] array) {
          System.arraycopy(array, heapFloatIndex(data) + row * w.cols() + colStart, out, offset, n);
          return;
        }
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
            IntVector packed = nibbles(data, block + 2 + j);
            low(packed).mul(scale).intoArray(out, o + j);
            high(packed).mul(scale).intoArray(out, o + 16 + j);
          }
        }
        return;
      }
    }
    if (vectorEnd < colEnd) {
      ScalarKernels.readRow(w, row, vectorEnd, colEnd, out, offset + vectorEnd - colStart);
    }
  }

  /**
   * Index of a float[]-backed heap segment's first element (the Vector API loads only from native
   * or byte[]-backed segments, so such segments are read through their array).
   */
  private static int heapFloatIndex(MemorySegment data) {
    return (int) (data.address() / Float.BYTES);
  }

  private static FloatVector bytesToFloats(ByteVector bytes) {
    return (FloatVector) bytes.convertShape(VectorOperators.B2F, F, 0);
  }

  /** bfloat16 is the upper half of a float32: sign-extend to int, shift left 16. */
  private static FloatVector bf16(MemorySegment data, long offset) {
    ShortVector bits = ShortVector.fromMemorySegment(S, data, offset, LE);
    return ((IntVector) bits.convertShape(VectorOperators.S2I, I, 0))
        .lanewise(VectorOperators.LSHL, 16)
        .viewAsFloatingLanes();
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
    IntVector finite = shifted.viewAsFloatingLanes().mul(0x1p112f).viewAsIntegralLanes();
    VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7C00);
    IntVector bits = finite.blend(shifted.or(0x7F800000), special);
    return bits.or(half.and(0x8000).lanewise(VectorOperators.LSHL, 16)).viewAsFloatingLanes();
  }

  // ---- machine probe loops ----

  @Override
  public void exp(float[] x, int from, int to) {
    int i = from;
    for (; i + L <= to; i += L) {
      exp(FloatVector.fromArray(F, x, i)).intoArray(x, i);
    }
    for (; i < to; i++) {
      x[i] = ScalarKernels.exp(x[i]);
    }
  }

  /** {@link ScalarKernels#exp(float)} lane by lane, the same operations (so the same bits). */
  private static FloatVector exp(FloatVector x) {
    FloatVector t = x.fma(ScalarKernels.LOG2E, ScalarKernels.ROUNDER);
    FloatVector k = t.sub(ScalarKernels.ROUNDER);
    FloatVector r = k.fma(FloatVector.broadcast(F, -ScalarKernels.LN2_HI), x);
    r = k.fma(FloatVector.broadcast(F, -ScalarKernels.LN2_LO), r);
    FloatVector p = r.fma(ScalarKernels.C7, ScalarKernels.C6);
    p = p.fma(r, FloatVector.broadcast(F, ScalarKernels.C5));
    p = p.fma(r, FloatVector.broadcast(F, ScalarKernels.C4));
    p = p.fma(r, FloatVector.broadcast(F, ScalarKernels.C3));
    p = p.fma(r, FloatVector.broadcast(F, ScalarKernels.C2));
    p = p.fma(r, FloatVector.broadcast(F, 1f));
    p = p.fma(r, FloatVector.broadcast(F, 1f));
    IntVector bits = t.viewAsIntegralLanes().sub(Float.floatToRawIntBits(ScalarKernels.ROUNDER) - 127)
        .lanewise(VectorOperators.LSHL, 23);
    FloatVector y = p.mul(bits.viewAsFloatingLanes());
    y = y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, ScalarKernels.EXP_MAX));
    return y.blend(0f, x.compare(VectorOperators.LT, ScalarKernels.EXP_MIN));
  }

  @Override
  public void softCap(float[] x, int from, int to, float cap) {
    int i = from;
    for (; i + L <= to; i += L) {
      // The same operations as ScalarKernels.softCap, both branches for every lane.
      FloatVector y = FloatVector.fromArray(F, x, i).div(cap);
      FloatVector a = y.abs();
      FloatVector a2 = a.mul(a);
      FloatVector p = a2.fma(ScalarKernels.TANH15, ScalarKernels.TANH13);
      p = p.fma(a2, FloatVector.broadcast(F, ScalarKernels.TANH11));
      p = p.fma(a2, FloatVector.broadcast(F, ScalarKernels.TANH9));
      p = p.fma(a2, FloatVector.broadcast(F, ScalarKernels.TANH7));
      p = p.fma(a2, FloatVector.broadcast(F, ScalarKernels.TANH5));
      p = p.fma(a2, FloatVector.broadcast(F, ScalarKernels.TANH3));
      FloatVector small = p.mul(a2).fma(a, a);
      FloatVector large = FloatVector.broadcast(F, 1f).sub(FloatVector.broadcast(F, 2f).div(exp(a.mul(2f)).add(1f)));
      large.blend(small, a.lt(0.5f)).viewAsIntegralLanes().or(y.viewAsIntegralLanes().and(0x80000000)).viewAsFloatingLanes()
          .mul(cap).intoArray(x, i);
    }
    for (; i < to; i++) {
      x[i] = ScalarKernels.softCap(x[i], cap);
    }
  }

  @Override
  public void rowsTimesColumnGroups(
      float[] a, int aOffset, int aStride, int rows, int inner, float[] b, int bOffset, int groupStride, int cols,
      float[] out, int outOffset, int outStride, int groupStart, int groupEnd) {
    int width = Kernels.COLUMN_GROUP;
    for (int g = groupStart; g < groupEnd; g++) {
      int first = width * g;
      int group = bOffset + g * groupStride;
      if (first + width > cols) {
        for (int i = 0; i < rows; i++) {
          for (int j = first; j < cols; j++) {
            out[outOffset + i * outStride + j] =
                ScalarKernels.rowTimesColumn(a, aOffset + i * aStride, inner, b, group + j - first, width);
          }
        }
        continue;
      }
      // Two vectors of columns per pass (eight independent chains; four were bound by the fused
      // multiply-add latency): the two halves of a group when L = 8, else this group and the next
      // full one, or this one twice when there is none (the same outputs computed and stored again).
      if (L < width) {
        for (int v = 0; v < width; v += 2 * L) {
          rowPasses(a, aOffset, aStride, rows, inner, b, group + v, group + v + L, width,
              out, outOffset + first + v, outOffset + first + v + L, outStride);
        }
        continue;
      }
      if (g + 3 < groupEnd && first + 4 * width <= cols) {
        // Four groups per pass: four streams of b (a short inner dimension, such as a head's 256 for
        // attention scores, ends a pass every 16 KB per stream); from DRAM, 2B's scores over a full
        // window 127 -> 101 us and the weighted values 92-100 -> 82-85 us per layer (BENCHMARKS.md,
        // stop 23).
        rowQuadPasses(a, aOffset, aStride, rows, inner, b, group, groupStride, width, out, outOffset + first,
            outStride);
        g += 3;
        continue;
      }
      boolean pair = g + 1 < groupEnd && first + 2 * width <= cols;
      int secondGroup = pair ? group + groupStride : group;
      int secondFirst = pair ? first + width : first;
      rowPasses(a, aOffset, aStride, rows, inner, b, group, secondGroup, width,
          out, outOffset + first, outOffset + secondFirst, outStride);
      if (pair) {
        g++;
      }
    }
  }

  /**
   * Whether the passes of {@link #rowsTimesColumnGroups} take five rows (when the rows come in
   * fives and not in fours) rather than four.
   */
  private static boolean fiveRowPasses(int rows) {
    return rows % 5 == 0 && rows % 4 != 0;
  }

  /**
   * All rows of {@link #rowsTimesColumnGroups} against two column vectors: five rows per pass when
   * the rows come in fives (RecurrentGemma-2B's 10 query heads: two passes, against three of four
   * rows with two computed twice), else four (the last pass repeating the last row).
   */
  private static void rowPasses(
      float[] a, int aOffset, int aStride, int rows, int inner, float[] b, int bo0, int bo1, int bStride,
      float[] out, int oo0, int oo1, int outStride) {
    if (fiveRowPasses(rows)) {
      for (int i = 0; i < rows; i += 5) {
        rowsTimes5x2(a, aOffset, aStride, i, inner, b, bo0, bo1, bStride, out, oo0, oo1, outStride);
      }
    } else {
      for (int i = 0; i < rows; i += 4) {
        rowsTimes4x2(a, aOffset, aStride, rows, i, inner, b, bo0, bo1, bStride, out, oo0, oo1, outStride);
      }
    }
  }

  /**
   * All rows of {@link #rowsTimesColumnGroups} against four full groups of columns ({@code bo} and
   * the next three, {@code groupStride} apart), written from {@code oo} (group j's columns at
   * {@code oo + j * L}): five rows per pass when the rows come in fives, else four (the last pass
   * repeating the last row). Each output is the same chain as in {@link #rowPasses}.
   */
  private static void rowQuadPasses(
      float[] a, int aOffset, int aStride, int rows, int inner, float[] b, int bo, int groupStride, int bStride,
      float[] out, int oo, int outStride) {
    if (fiveRowPasses(rows)) {
      for (int i = 0; i < rows; i += 5) {
        rowsTimes5x4(a, aOffset, aStride, i, inner, b, bo, groupStride, bStride, out, oo, outStride);
      }
    } else {
      for (int i = 0; i < rows; i += 4) {
        rowsTimes4x4(a, aOffset, aStride, rows, i, inner, b, bo, groupStride, bStride, out, oo, outStride);
      }
    }
  }

  /** Rows {@code i .. i + 4} (all present) times four groups: twenty chains. */
  private static void rowsTimes5x4(
      float[] a, int aOffset, int aStride, int i, int inner, float[] b, int bo, int groupStride, int bStride,
      float[] out, int oo, int outStride) {
    int r0 = i + 0;
    int r1 = i + 1;
    int r2 = i + 2;
    int r3 = i + 3;
    int r4 = i + 4;
    int a0 = aOffset + r0 * aStride;
    int a1 = aOffset + r1 * aStride;
    int a2 = aOffset + r2 * aStride;
    int a3 = aOffset + r3 * aStride;
    int a4 = aOffset + r4 * aStride;
    int bo0 = bo + 0 * groupStride;
    int bo1 = bo + 1 * groupStride;
    int bo2 = bo + 2 * groupStride;
    int bo3 = bo + 3 * groupStride;
    FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00, c40 = c00, c41 = c00, c42 = c00, c43 = c00;
    for (int k = 0; k < inner; k++) {
      FloatVector v0 = FloatVector.fromArray(F, b, bo0 + k * bStride);
      FloatVector v1 = FloatVector.fromArray(F, b, bo1 + k * bStride);
      FloatVector v2 = FloatVector.fromArray(F, b, bo2 + k * bStride);
      FloatVector v3 = FloatVector.fromArray(F, b, bo3 + k * bStride);
      FloatVector x0 = FloatVector.broadcast(F, a[a0 + k]);
      c00 = x0.fma(v0, c00);
      c01 = x0.fma(v1, c01);
      c02 = x0.fma(v2, c02);
      c03 = x0.fma(v3, c03);
      FloatVector x1 = FloatVector.broadcast(F, a[a1 + k]);
      c10 = x1.fma(v0, c10);
      c11 = x1.fma(v1, c11);
      c12 = x1.fma(v2, c12);
      c13 = x1.fma(v3, c13);
      FloatVector x2 = FloatVector.broadcast(F, a[a2 + k]);
      c20 = x2.fma(v0, c20);
      c21 = x2.fma(v1, c21);
      c22 = x2.fma(v2, c22);
      c23 = x2.fma(v3, c23);
      FloatVector x3 = FloatVector.broadcast(F, a[a3 + k]);
      c30 = x3.fma(v0, c30);
      c31 = x3.fma(v1, c31);
      c32 = x3.fma(v2, c32);
      c33 = x3.fma(v3, c33);
      FloatVector x4 = FloatVector.broadcast(F, a[a4 + k]);
      c40 = x4.fma(v0, c40);
      c41 = x4.fma(v1, c41);
      c42 = x4.fma(v2, c42);
      c43 = x4.fma(v3, c43);
    }
    c00.intoArray(out, oo + 0 * L + r0 * outStride);
    c01.intoArray(out, oo + 1 * L + r0 * outStride);
    c02.intoArray(out, oo + 2 * L + r0 * outStride);
    c03.intoArray(out, oo + 3 * L + r0 * outStride);
    c10.intoArray(out, oo + 0 * L + r1 * outStride);
    c11.intoArray(out, oo + 1 * L + r1 * outStride);
    c12.intoArray(out, oo + 2 * L + r1 * outStride);
    c13.intoArray(out, oo + 3 * L + r1 * outStride);
    c20.intoArray(out, oo + 0 * L + r2 * outStride);
    c21.intoArray(out, oo + 1 * L + r2 * outStride);
    c22.intoArray(out, oo + 2 * L + r2 * outStride);
    c23.intoArray(out, oo + 3 * L + r2 * outStride);
    c30.intoArray(out, oo + 0 * L + r3 * outStride);
    c31.intoArray(out, oo + 1 * L + r3 * outStride);
    c32.intoArray(out, oo + 2 * L + r3 * outStride);
    c33.intoArray(out, oo + 3 * L + r3 * outStride);
    c40.intoArray(out, oo + 0 * L + r4 * outStride);
    c41.intoArray(out, oo + 1 * L + r4 * outStride);
    c42.intoArray(out, oo + 2 * L + r4 * outStride);
    c43.intoArray(out, oo + 3 * L + r4 * outStride);
  }

  /** Rows {@code i .. i + 3} times four groups (past the last row, the last one repeated): sixteen chains. */
  private static void rowsTimes4x4(
      float[] a, int aOffset, int aStride, int rows, int i, int inner, float[] b, int bo, int groupStride,
      int bStride, float[] out, int oo, int outStride) {
    int r0 = i;
    int r1 = Math.min(i + 1, rows - 1);
    int r2 = Math.min(i + 2, rows - 1);
    int r3 = Math.min(i + 3, rows - 1);
    int a0 = aOffset + r0 * aStride;
    int a1 = aOffset + r1 * aStride;
    int a2 = aOffset + r2 * aStride;
    int a3 = aOffset + r3 * aStride;
    int bo0 = bo + 0 * groupStride;
    int bo1 = bo + 1 * groupStride;
    int bo2 = bo + 2 * groupStride;
    int bo3 = bo + 3 * groupStride;
    FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    for (int k = 0; k < inner; k++) {
      FloatVector v0 = FloatVector.fromArray(F, b, bo0 + k * bStride);
      FloatVector v1 = FloatVector.fromArray(F, b, bo1 + k * bStride);
      FloatVector v2 = FloatVector.fromArray(F, b, bo2 + k * bStride);
      FloatVector v3 = FloatVector.fromArray(F, b, bo3 + k * bStride);
      FloatVector x0 = FloatVector.broadcast(F, a[a0 + k]);
      c00 = x0.fma(v0, c00);
      c01 = x0.fma(v1, c01);
      c02 = x0.fma(v2, c02);
      c03 = x0.fma(v3, c03);
      FloatVector x1 = FloatVector.broadcast(F, a[a1 + k]);
      c10 = x1.fma(v0, c10);
      c11 = x1.fma(v1, c11);
      c12 = x1.fma(v2, c12);
      c13 = x1.fma(v3, c13);
      FloatVector x2 = FloatVector.broadcast(F, a[a2 + k]);
      c20 = x2.fma(v0, c20);
      c21 = x2.fma(v1, c21);
      c22 = x2.fma(v2, c22);
      c23 = x2.fma(v3, c23);
      FloatVector x3 = FloatVector.broadcast(F, a[a3 + k]);
      c30 = x3.fma(v0, c30);
      c31 = x3.fma(v1, c31);
      c32 = x3.fma(v2, c32);
      c33 = x3.fma(v3, c33);
    }
    c00.intoArray(out, oo + 0 * L + r0 * outStride);
    c01.intoArray(out, oo + 1 * L + r0 * outStride);
    c02.intoArray(out, oo + 2 * L + r0 * outStride);
    c03.intoArray(out, oo + 3 * L + r0 * outStride);
    c10.intoArray(out, oo + 0 * L + r1 * outStride);
    c11.intoArray(out, oo + 1 * L + r1 * outStride);
    c12.intoArray(out, oo + 2 * L + r1 * outStride);
    c13.intoArray(out, oo + 3 * L + r1 * outStride);
    c20.intoArray(out, oo + 0 * L + r2 * outStride);
    c21.intoArray(out, oo + 1 * L + r2 * outStride);
    c22.intoArray(out, oo + 2 * L + r2 * outStride);
    c23.intoArray(out, oo + 3 * L + r2 * outStride);
    c30.intoArray(out, oo + 0 * L + r3 * outStride);
    c31.intoArray(out, oo + 1 * L + r3 * outStride);
    c32.intoArray(out, oo + 2 * L + r3 * outStride);
    c33.intoArray(out, oo + 3 * L + r3 * outStride);
  }

  /** As {@link #rowsTimes4x2} for rows {@code i .. i + 4} (all present): ten chains. */
  private static void rowsTimes5x2(
      float[] a, int aOffset, int aStride, int i, int inner, float[] b, int bo0, int bo1, int bStride,
      float[] out, int oo0, int oo1, int outStride) {
    int a0 = aOffset + i * aStride;
    int a1 = a0 + aStride;
    int a2 = a1 + aStride;
    int a3 = a2 + aStride;
    int a4 = a3 + aStride;
    FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0;
    FloatVector d0 = c0, d1 = c0, d2 = c0, d3 = c0, d4 = c0;
    for (int k = 0; k < inner; k++) {
      FloatVector v = FloatVector.fromArray(F, b, bo0 + k * bStride);
      FloatVector w = FloatVector.fromArray(F, b, bo1 + k * bStride);
      FloatVector x0 = FloatVector.broadcast(F, a[a0 + k]);
      FloatVector x1 = FloatVector.broadcast(F, a[a1 + k]);
      FloatVector x2 = FloatVector.broadcast(F, a[a2 + k]);
      FloatVector x3 = FloatVector.broadcast(F, a[a3 + k]);
      FloatVector x4 = FloatVector.broadcast(F, a[a4 + k]);
      c0 = x0.fma(v, c0);
      d0 = x0.fma(w, d0);
      c1 = x1.fma(v, c1);
      d1 = x1.fma(w, d1);
      c2 = x2.fma(v, c2);
      d2 = x2.fma(w, d2);
      c3 = x3.fma(v, c3);
      d3 = x3.fma(w, d3);
      c4 = x4.fma(v, c4);
      d4 = x4.fma(w, d4);
    }
    c0.intoArray(out, oo0 + i * outStride);
    c1.intoArray(out, oo0 + (i + 1) * outStride);
    c2.intoArray(out, oo0 + (i + 2) * outStride);
    c3.intoArray(out, oo0 + (i + 3) * outStride);
    c4.intoArray(out, oo0 + (i + 4) * outStride);
    d0.intoArray(out, oo1 + i * outStride);
    d1.intoArray(out, oo1 + (i + 1) * outStride);
    d2.intoArray(out, oo1 + (i + 2) * outStride);
    d3.intoArray(out, oo1 + (i + 3) * outStride);
    d4.intoArray(out, oo1 + (i + 4) * outStride);
  }

  /**
   * Rows {@code i .. i + 3} of a {@link #rowsTimesColumnGroups} product times two vectors of columns
   * of b, from {@code bo0} and {@code bo1} (rows of b {@code bStride} apart in both), written from
   * {@code oo0} and {@code oo1}: each value of a broadcast once serves both vectors, each value of b
   * loaded once serves four rows. Past the last row the last one is repeated (the same outputs
   * computed and stored again).
   */
  private static void rowsTimes4x2(
      float[] a, int aOffset, int aStride, int rows, int i, int inner, float[] b, int bo0, int bo1, int bStride,
      float[] out, int oo0, int oo1, int outStride) {
    int r1 = Math.min(i + 1, rows - 1);
    int r2 = Math.min(i + 2, rows - 1);
    int r3 = Math.min(i + 3, rows - 1);
    int a0 = aOffset + i * aStride;
    int a1 = aOffset + r1 * aStride;
    int a2 = aOffset + r2 * aStride;
    int a3 = aOffset + r3 * aStride;
    FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
    FloatVector d0 = c0, d1 = c0, d2 = c0, d3 = c0;
    for (int k = 0; k < inner; k++) {
      FloatVector v = FloatVector.fromArray(F, b, bo0 + k * bStride);
      FloatVector w = FloatVector.fromArray(F, b, bo1 + k * bStride);
      FloatVector x0 = FloatVector.broadcast(F, a[a0 + k]);
      FloatVector x1 = FloatVector.broadcast(F, a[a1 + k]);
      FloatVector x2 = FloatVector.broadcast(F, a[a2 + k]);
      FloatVector x3 = FloatVector.broadcast(F, a[a3 + k]);
      c0 = x0.fma(v, c0);
      d0 = x0.fma(w, d0);
      c1 = x1.fma(v, c1);
      d1 = x1.fma(w, d1);
      c2 = x2.fma(v, c2);
      d2 = x2.fma(w, d2);
      c3 = x3.fma(v, c3);
      d3 = x3.fma(w, d3);
    }
    c0.intoArray(out, oo0 + i * outStride);
    c1.intoArray(out, oo0 + r1 * outStride);
    c2.intoArray(out, oo0 + r2 * outStride);
    c3.intoArray(out, oo0 + r3 * outStride);
    d0.intoArray(out, oo1 + i * outStride);
    d1.intoArray(out, oo1 + r1 * outStride);
    d2.intoArray(out, oo1 + r2 * outStride);
    d3.intoArray(out, oo1 + r3 * outStride);
  }

  @Override
  public void geluProduct(float[] gate, int g, float[] gateBias, float[] up, int u, float[] upBias, int b, int count) {
    int i = 0;
    for (; i + L <= count; i += L) {
      FloatVector v = FloatVector.fromArray(F, gate, g + i).add(FloatVector.fromArray(F, gateBias, b + i));
      FloatVector z = v.mul(v).mul(v).mul(0.044715f).add(v).mul(-2f * 0.7978845608f);
      FloatVector w = FloatVector.fromArray(F, up, u + i).add(FloatVector.fromArray(F, upBias, b + i));
      v.div(exp(z).add(1f)).mul(w).intoArray(gate, g + i);
    }
    for (; i < count; i++) {
      gate[g + i] = ScalarKernels.gelu(gate[g + i] + gateBias[b + i]) * (up[u + i] + upBias[b + i]);
    }
  }

  @Override
  public void geluTanh(float[] x, int from, int to) {
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = FloatVector.fromArray(F, x, i);
      FloatVector z = v.mul(v).mul(v).mul(0.044715f).add(v).mul(-2f * 0.7978845608f);
      v.div(exp(z).add(1f)).intoArray(x, i);
    }
    for (; i < to; i++) {
      x[i] = ScalarKernels.gelu(x[i]);
    }
  }

  @Override
  public void dotRows(
      float[] m, int mOffset, int rowStride, int cols, float[] x, int xOffset, int tokens,
      float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
    int vectorCols = cols - cols % L;
    float[] lanes = new float[4 * L];
    int r = rowStart;
    for (; r + 4 <= rowEnd; r += 4) {
      int m0 = mOffset + r * rowStride;
      int m1 = m0 + rowStride;
      int m2 = m1 + rowStride;
      int m3 = m2 + rowStride;
      for (int t = 0; t < tokens; t++) {
        int xo = xOffset + t * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < vectorCols; c += L) {
          FloatVector u = FloatVector.fromArray(F, x, xo + c);
          a0 = FloatVector.fromArray(F, m, m0 + c).fma(u, a0);
          a1 = FloatVector.fromArray(F, m, m1 + c).fma(u, a1);
          a2 = FloatVector.fromArray(F, m, m2 + c).fma(u, a2);
          a3 = FloatVector.fromArray(F, m, m3 + c).fma(u, a3);
        }
        // Lanes added in a fixed order (reduceLanes' order may change with JIT compilation).
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, L);
        a2.intoArray(lanes, 2 * L);
        a3.intoArray(lanes, 3 * L);
        float s0 = laneSum(lanes, 0);
        float s1 = laneSum(lanes, L);
        float s2 = laneSum(lanes, 2 * L);
        float s3 = laneSum(lanes, 3 * L);
        for (int c = vectorCols; c < cols; c++) {
          float u = x[xo + c];
          s0 = Math.fma(m[m0 + c], u, s0);
          s1 = Math.fma(m[m1 + c], u, s1);
          s2 = Math.fma(m[m2 + c], u, s2);
          s3 = Math.fma(m[m3 + c], u, s3);
        }
        int o = outOffset + t * outStride + r;
        out[o] = s0;
        out[o + 1] = s1;
        out[o + 2] = s2;
        out[o + 3] = s3;
      }
    }
    for (; r < rowEnd; r++) {
      int m0 = mOffset + r * rowStride;
      for (int t = 0; t < tokens; t++) {
        int xo = xOffset + t * cols;
        FloatVector a0 = FloatVector.zero(F);
        for (int c = 0; c < vectorCols; c += L) {
          a0 = FloatVector.fromArray(F, m, m0 + c).fma(FloatVector.fromArray(F, x, xo + c), a0);
        }
        a0.intoArray(lanes, 0);
        float s0 = laneSum(lanes, 0);
        for (int c = vectorCols; c < cols; c++) {
          s0 = Math.fma(m[m0 + c], x[xo + c], s0);
        }
        out[outOffset + t * outStride + r] = s0;
      }
    }
  }

  /**
   * Four streams, each through a quarter of the range (its first multiple of four vectors; the rest
   * one float at a time): on the Zen 5 VM one stream per thread read ~50 GB/s, two or four streams
   * per thread 72-75, eight 67 (1.5 GB with 2 threads; BENCHMARKS.md, stop 23). The probe is meant
   * to read as fast as the machine lets a Java loop read, so it takes four.
   */
  @Override
  public float sumFloats(MemorySegment data, long offset, long bytes) {
    FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
    long v = F.vectorByteSize();
    long quarter = bytes / (4 * v) * v;
    long q1 = offset + quarter;
    long q2 = q1 + quarter;
    long q3 = q2 + quarter;
    for (long i = offset; i < q1; i += v) {
      s0 = s0.add(FloatVector.fromMemorySegment(F, data, i, LE));
      s1 = s1.add(FloatVector.fromMemorySegment(F, data, i + quarter, LE));
      s2 = s2.add(FloatVector.fromMemorySegment(F, data, i + 2 * quarter, LE));
      s3 = s3.add(FloatVector.fromMemorySegment(F, data, i + 3 * quarter, LE));
    }
    float sum = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    for (long i = q3 + quarter; i < offset + bytes; i += 4) {
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
