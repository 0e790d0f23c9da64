package dev.rgemma.kernels;

import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Rewrites a row-major {@link WeightMatrix} into the grouped layout of {@link PackedMatrix}. */
final class Packing {
  private Packing() {}

  /** Groups handled by one pool task: enough work to amortize a hand-off. */
  private static final int GROUPS_PER_TASK = 64;

  static PackedMatrix pack(WeightMatrix w, int groupRows, Arena arena, WorkerPool pool) {
    return pack(w, groupRows, arena, pool, false);
  }

  /**
   * {@code temporary}: the matrix lives only as long as a short-lived arena (a prefill chunk's
   * keys), so it takes ordinary arena memory rather than a huge-page mapping of its own.
   */
  static PackedMatrix pack(WeightMatrix w, int groupRows, Arena arena, WorkerPool pool, boolean temporary) {
    DType dtype = w.dtype();
    int rows = w.rows();
    int cols = w.cols();
    if (dtype.isQuantized() && cols % 32 != 0) {
      throw new IllegalArgumentException(w.name() + ": " + dtype + " needs a multiple of 32 columns, got " + cols);
    }
    int groups = (rows + groupRows - 1) / groupRows;
    long groupBytes = PackedMatrix.groupBytes(dtype, cols, groupRows);
    MemorySegment packed = temporary
        ? arena.allocate(groups * groupBytes, 64)
        : LargePages.allocate(groups * groupBytes, arena);
    int tasks = (groups + GROUPS_PER_TASK - 1) / GROUPS_PER_TASK;
    java.util.concurrent.atomic.AtomicBoolean special = new java.util.concurrent.atomic.AtomicBoolean();
    pool.parallelFor(tasks, task -> {
      int end = Math.min(groups, (task + 1) * GROUPS_PER_TASK);
      switch (dtype) {
        case F32 -> packWords(w, groupRows, groupBytes, packed, task * GROUPS_PER_TASK, end);
        case F16, BF16 -> {
          if (packHalves(w, groupRows, groupBytes, packed, task * GROUPS_PER_TASK, end)) {
            special.set(true);
          }
        }
        case Q8_0, Q4_0 -> packBlocks(w, groupRows, groupBytes, packed, task * GROUPS_PER_TASK, end);
      }
    });
    return new PackedMatrix(w.name(), dtype, rows, cols, groupRows, packed, !special.get());
  }

  private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** F32: element (i, c) at word c * G + i. */
  private static void packWords(WeightMatrix w, int g, long groupBytes, MemorySegment packed, int first, int end) {
    int cols = w.cols();
    int[] row = new int[cols];
    int[] group = new int[cols * g];
    for (int gi = first; gi < end; gi++) {
      java.util.Arrays.fill(group, 0);
      for (int i = 0; i < g && gi * g + i < w.rows(); i++) {
        MemorySegment.copy(w.data(), I32, (gi * g + i) * w.rowBytes(), row, 0, cols);
        for (int c = 0; c < cols; c++) {
          group[c * g + i] = row[c];
        }
      }
      MemorySegment.copy(group, 0, packed, I32, gi * groupBytes, group.length);
    }
  }

  /**
   * F16: element (i, c) at half c * G + i; BF16: at half 2 * ((c / 2) * G + i) + c % 2 (pairs).
   * Returns whether an F16 value among these groups is infinite or NaN (exponent bits all ones).
   */
  private static boolean packHalves(WeightMatrix w, int g, long groupBytes, MemorySegment packed, int first, int end) {
    int cols = w.cols();
    boolean pairs = w.dtype() == DType.BF16;
    short[] row = new short[cols];
    short[] group = new short[Math.toIntExact(groupBytes / 2)];
    boolean special = false;
    for (int gi = first; gi < end; gi++) {
      java.util.Arrays.fill(group, (short) 0);
      for (int i = 0; i < g && gi * g + i < w.rows(); i++) {
        MemorySegment.copy(w.data(), I16, (gi * g + i) * w.rowBytes(), row, 0, cols);
        if (pairs) {
          for (int c = 0; c < cols; c++) {
            group[2 * ((c >> 1) * g + i) + (c & 1)] = row[c];
          }
        } else {
          for (int c = 0; c < cols; c++) {
            group[c * g + i] = row[c];
            special |= nonFiniteHalf(row[c]);
          }
        }
      }
      MemorySegment.copy(group, 0, packed, I16, gi * groupBytes, group.length);
    }
    return special;
  }

  private static void packBlocks(WeightMatrix w, int g, long groupBytes, MemorySegment packed, int first, int end) {
    byte[] row = new byte[Math.toIntExact(w.rowBytes())];
    byte[] group = new byte[Math.toIntExact(groupBytes)];
    for (int gi = first; gi < end; gi++) {
      java.util.Arrays.fill(group, (byte) 0);
      for (int i = 0; i < g && gi * g + i < w.rows(); i++) {
        MemorySegment.copy(w.data(), ValueLayout.JAVA_BYTE, (gi * g + i) * w.rowBytes(), row, 0, row.length);
        checkScales(w, gi * g + i, row);
        scatterRow(w.dtype(), w.cols(), g, row, i, group);
      }
      if (w.dtype().isQuantized()) {
        // Values of all groups first, then all scales (PackedMatrix): this group's in each run.
        int groups = (w.rows() + g - 1) / g;
        int values = (w.dtype().blockBytes() - 2) * g * (w.cols() / 32);
        int scales = group.length - values;
        MemorySegment.copy(group, 0, packed, ValueLayout.JAVA_BYTE, (long) gi * values, values);
        MemorySegment.copy(group, values, packed, ValueLayout.JAVA_BYTE, (long) groups * values + (long) gi * scales,
            scales);
      } else {
        throw new AssertionError("not a block type: " + w.dtype());
      }
    }
  }

  /** Whether the f16 bits (in the low 16 of {@code bits}) are an infinity or a NaN: exponent all ones. */
  private static boolean nonFiniteHalf(int bits) {
    return (bits & 0x7C00) == 0x7C00;
  }

  /**
   * Rejects a block whose f16 scale is infinite or NaN: the kernels widen scales assuming finite
   * values, and such a block could only make garbage.
   */
  private static void checkScales(WeightMatrix w, int r, byte[] row) {
    int blockBytes = w.dtype() == DType.Q8_0 ? 34 : 18;
    for (int b = 0; b < w.cols() / 32; b++) {
      int bits = (row[blockBytes * b] & 0xFF) | (row[blockBytes * b + 1] & 0xFF) << 8;
      if (nonFiniteHalf(bits)) {
        throw new IllegalArgumentException(w.name() + ": row " + r + ", block " + b + " has a non-finite scale (f16 0x"
            + Integer.toHexString(bits) + "); the file is corrupt");
      }
    }
  }

  /** Places one stored row (its bytes as in the checkpoint) as row {@code i} of a group. */
  private static void scatterRow(DType dtype, int cols, int g, byte[] row, int i, byte[] group) {
    switch (dtype) {
      case Q8_0 -> {
        int scales = 32 * g * (cols / 32);
        for (int b = 0; b < cols / 32; b++) {
          int src = 34 * b;
          int dst = 32 * g * b;
          group[scales + 2 * (g * b + i)] = row[src];
          group[scales + 2 * (g * b + i) + 1] = row[src + 1];
          for (int j = 0; j < 32; j++) {
            group[dst + j * g + i] = row[src + 2 + j];
          }
        }
      }
      case Q4_0 -> {
        int scales = 16 * g * (cols / 32);
        for (int b = 0; b < cols / 32; b++) {
          int src = 18 * b;
          int dst = 16 * g * b;
          group[scales + 2 * (g * b + i)] = row[src];
          group[scales + 2 * (g * b + i) + 1] = row[src + 1];
          // GGUF: byte j holds columns j (low) and j + 16 (high); packed: byte j holds 2j and 2j + 1,
          // bytes j = 2p and 2p + 1 of a row side by side (PackedMatrix.q4Byte).
          for (int j = 0; j < 16; j++) {
            int lo = nibble(row, src + 2, 2 * j);
            int hi = nibble(row, src + 2, 2 * j + 1);
            group[dst + (int) PackedMatrix.q4Byte(j, g, i)] = (byte) (lo | hi << 4);
          }
        }
      }
      default -> throw new IllegalArgumentException("not a block type: " + dtype);
    }
  }

  /** The 4-bit value of column {@code c} (0..31) of a GGUF Q4_0 block whose quants start at {@code q}. */
  private static int nibble(byte[] row, int q, int c) {
    int b = row[q + (c & 15)] & 0xFF;
    return c < 16 ? b & 0x0F : b >>> 4;
  }
}
