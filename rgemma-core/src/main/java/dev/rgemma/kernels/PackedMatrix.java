package dev.rgemma.kernels;

import dev.rgemma.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A weight matrix {@code [rows, cols]} repacked for the kernels ({@link Kernels#pack}): rows are
 * taken in groups of {@link #groupRows()} (the kernels' vector width; the last group is padded with
 * zero rows) and each group is stored column by column, so that one vector load yields one column
 * of a whole group. Every group takes {@link #groupBytes()} bytes, the same number of bytes per
 * weight as the stored type:
 *
 * <ul>
 *   <li>F32, F16: element {@code (i, c)} of a group at element index {@code c * G + i};
 *   <li>BF16: columns in pairs, one 32-bit word per row and pair: word {@code (c / 2) * G + i}
 *       holds {@code (i, c)} for even c in its low half and {@code (i, c + 1)} in its high half
 *       (so widening is a shift or a mask; an odd last column is paired with zero);
 *   <li>Q8_0: the values of all 32-column blocks, then all their f16 scales ({@link
 *       #scaleOffset}): {@code 32 * G} int8 values per block, element {@code (i, 32b + j)} at
 *       {@code 32 * G * b + j * G + i}; the scale of block b of row i at {@code scaleOffset() + 2 *
 *       (G * b + i)};
 *   <li>Q4_0: likewise, {@code 16 * G} bytes per block, then the scales. Byte j (0..15) of row i
 *       holds element {@code (i, 32b + 2j)} in its low nibble and {@code (i, 32b + 2j + 1)} in its
 *       high nibble (offset by 8, as in GGUF); it sits at {@code 16 * G * b +} {@link #q4Byte}:
 *       bytes 2p and 2p + 1 of a row side by side, so that one load of {@code 2G} bytes widened to
 *       16-bit lanes pairs them per row.
 * </ul>
 *
 * <p>With the scales apart, a group's values are one run of memory that the kernels step through
 * with a single affine index (and the JIT checks its bounds once per loop, not once per block).
 *
 * <p>Widened weights are exact ({@code q * scale}). How the kernels sum (one fused multiply-add
 * chain over the columns for F32/BF16/F16, per block for Q8_0, exact integer block sums of int8
 * inputs for Q4_0) is fixed per type, so a row's result does not depend on the kernel, the number
 * of tokens or the split over threads.
 */
public final class PackedMatrix {
  private final String name;
  private final DType dtype;
  private final int rows;
  private final int cols;
  private final int groupRows;
  private final MemorySegment data;
  /** Quantized types: each group (its values, then its scales), sliced once (else null). */
  private final MemorySegment[] groups;

  PackedMatrix(String name, DType dtype, int rows, int cols, int groupRows, MemorySegment data) {
    this.name = Objects.requireNonNull(name);
    this.dtype = Objects.requireNonNull(dtype);
    this.rows = rows;
    this.cols = cols;
    this.groupRows = groupRows;
    this.data = Objects.requireNonNull(data);
    if (data.byteSize() != groups() * groupBytes()) {
      throw new IllegalArgumentException(name + ": packed data has " + data.byteSize() + " bytes, expected "
          + groups() * groupBytes());
    }
    if (dtype == DType.Q8_0 || dtype == DType.Q4_0) {
      // Made here rather than per product: decoding slices every group of every matrix per token.
      groups = new MemorySegment[groups()];
      for (int g = 0; g < groups.length; g++) {
        groups[g] = data.asSlice(g * groupBytes(), groupBytes());
      }
    } else {
      groups = null;
    }
  }

  static long groupBytes(DType dtype, int cols, int groupRows) {
    return switch (dtype) {
      case F32 -> 4L * cols * groupRows;
      case F16 -> 2L * cols * groupRows;
      case BF16 -> 4L * ((cols + 1) / 2) * groupRows;
      case Q8_0 -> (cols / 32) * (34L * groupRows);
      case Q4_0 -> (cols / 32) * (18L * groupRows);
    };
  }

  /** The checkpoint tensor name, for messages. */
  public String name() {
    return name;
  }

  public DType dtype() {
    return dtype;
  }

  public int rows() {
    return rows;
  }

  public int cols() {
    return cols;
  }

  /** Rows per group (G). */
  public int groupRows() {
    return groupRows;
  }

  /** Number of row groups, {@code ceil(rows / G)}. */
  public int groups() {
    return (rows + groupRows - 1) / groupRows;
  }

  /**
   * Offset within a packed Q4_0 block of byte {@code j} (columns 2j, 2j + 1) of row {@code i}:
   * bytes j = 2p and 2p + 1 of a row are adjacent, rows in order, {@code 2 * groupRows} bytes per p.
   */
  static long q4Byte(int j, int groupRows, int i) {
    return (long) (j / 2) * 2 * groupRows + 2L * i + (j & 1);
  }

  /** Bytes of one group. */
  public long groupBytes() {
    return groupBytes(dtype, cols, groupRows);
  }

  /** Bytes of the values (not the scales) of one 32-column block of one group (quantized types). */
  long quantBytes() {
    return (dtype.blockBytes() - 2) * (long) groupRows;
  }

  /** Offset within a group of the f16 scales of its blocks (quantized types). */
  long scaleOffset() {
    return (cols / 32) * quantBytes();
  }

  /**
   * Group {@code g} of a quantized matrix as one segment: the values of all its blocks in order,
   * then their f16 scales from {@link #scaleOffset()} (quantized types only).
   */
  MemorySegment group(int g) {
    return groups[g];
  }

  /** Bytes of weights, as stored (padding rows included). */
  public long byteSize() {
    return data.byteSize();
  }

  MemorySegment data() {
    return data;
  }

  /**
   * Rows {@code [first, first + count)} as a packed matrix sharing this one's memory; {@code first}
   * must start a group and {@code count} fill whole groups (or reach the last row).
   */
  public PackedMatrix rowBlock(int first, int count) {
    java.util.Objects.checkFromIndexSize(first, count, rows);
    if (first % groupRows != 0 || (count % groupRows != 0 && first + count != rows) || count == 0) {
      throw new IllegalArgumentException(name + ": rows [" + first + ", " + (first + count)
          + ") do not fall on groups of " + groupRows);
    }
    int groups = (count + groupRows - 1) / groupRows;
    return new PackedMatrix(name + "[" + first + ":" + (first + count) + "]", dtype, count, cols, groupRows,
        data.asSlice(first / groupRows * groupBytes(), groups * groupBytes()));
  }

  @Override
  public String toString() {
    return name + " " + dtype + " [" + rows + ", " + cols + "] packed by " + groupRows;
  }
}
