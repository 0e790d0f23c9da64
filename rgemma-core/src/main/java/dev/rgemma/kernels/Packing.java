package dev.rgemma.kernels;

import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Rewrites a row-major {@link WeightMatrix} into the grouped layout of {@link PackedMatrix}. */
final class Packing {
  private Packing() {}

  /** Groups handled by one pool task: enough work to amortize a hand-off. */
  private static final int GROUPS_PER_TASK = 64;

  static PackedMatrix pack(WeightMatrix w, int groupRows, Arena arena, WorkerPool pool) {
    DType dtype = w.dtype();
    int rows = w.rows();
    int cols = w.cols();
    if (dtype.isQuantized() && cols % 32 != 0) {
      throw new IllegalArgumentException(w.name() + ": " + dtype + " needs a multiple of 32 columns, got " + cols);
    }
    int groups = (rows + groupRows - 1) / groupRows;
    long groupBytes = PackedMatrix.groupBytes(dtype, cols, groupRows);
    MemorySegment packed = arena.allocate(groups * groupBytes, 64);
    int tasks = (groups + GROUPS_PER_TASK - 1) / GROUPS_PER_TASK;
    pool.parallelFor(tasks, task -> {
      byte[] row = new byte[Math.toIntExact(w.rowBytes())];
      byte[] group = new byte[Math.toIntExact(groupBytes)];
      int end = Math.min(groups, (task + 1) * GROUPS_PER_TASK);
      for (int g = task * GROUPS_PER_TASK; g < end; g++) {
        java.util.Arrays.fill(group, (byte) 0);
        for (int i = 0; i < groupRows && g * groupRows + i < rows; i++) {
          MemorySegment.copy(w.data(), ValueLayout.JAVA_BYTE, (g * groupRows + i) * w.rowBytes(), row, 0, row.length);
          scatterRow(dtype, cols, groupRows, row, i, group);
        }
        MemorySegment.copy(group, 0, packed, ValueLayout.JAVA_BYTE, g * groupBytes, group.length);
      }
    });
    return new PackedMatrix(w.name(), dtype, rows, cols, groupRows, packed);
  }

  /** Places one stored row (its bytes as in the checkpoint) as row {@code i} of a group. */
  private static void scatterRow(DType dtype, int cols, int g, byte[] row, int i, byte[] group) {
    switch (dtype) {
      case BF16 -> {
        for (int c = 0; c < cols; c++) {
          System.arraycopy(row, 2 * c, group, ((c / 2) * g + i) * 4 + (c % 2) * 2, 2);
        }
      }
      case F32, F16 -> {
        int size = dtype == DType.F32 ? 4 : 2;
        for (int c = 0; c < cols; c++) {
          System.arraycopy(row, c * size, group, (c * g + i) * size, size);
        }
      }
      case Q8_0 -> {
        int blockBytes = 34 * g;
        for (int b = 0; b < cols / 32; b++) {
          int src = 34 * b;
          int dst = blockBytes * b;
          group[dst + 32 * g + 2 * i] = row[src];
          group[dst + 32 * g + 2 * i + 1] = row[src + 1];
          for (int j = 0; j < 32; j++) {
            group[dst + j * g + i] = row[src + 2 + j];
          }
        }
      }
      case Q4_0 -> {
        int blockBytes = 18 * g;
        for (int b = 0; b < cols / 32; b++) {
          int src = 18 * b;
          int dst = blockBytes * b;
          group[dst + 16 * g + 2 * i] = row[src];
          group[dst + 16 * g + 2 * i + 1] = row[src + 1];
          // GGUF: byte j holds columns j (low) and j + 16 (high); packed: byte j holds 2j and 2j + 1.
          for (int j = 0; j < 16; j++) {
            int lo = nibble(row, src + 2, 2 * j);
            int hi = nibble(row, src + 2, 2 * j + 1);
            group[dst + j * g + i] = (byte) (lo | hi << 4);
          }
        }
      }
    }
  }

  /** The 4-bit value of column {@code c} (0..31) of a GGUF Q4_0 block whose quants start at {@code q}. */
  private static int nibble(byte[] row, int q, int c) {
    int b = row[q + (c & 15)] & 0xFF;
    return c < 16 ? b & 0x0F : b >>> 4;
  }
}
