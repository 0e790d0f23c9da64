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
 *   <li>Q8_0 (and Q4_0 likewise): the values of every group first, group after group, then the
 *       f16 scales of every group in the same order ({@link #valueStart}, {@link #scaleStart}):
 *       per group {@code 32 * G} int8 values per block, element {@code (i, 32b + j)} at
 *       {@code 32 * G * b + j * G + i} from the group's value start; the scale of block b of row
 *       i at {@code 2 * (G * b + i)} from its scale start. So the values of consecutive groups are
 *       one run, and so are their scales: the decode loop streams several groups per pass with
 *       one affine index;
 *   <li>Q4_0: as Q8_0, with {@code 16 * G} bytes of values per block. Byte j (0..15) of row i
 *       holds element {@code (i, 32b + 2j)} in its low nibble and {@code (i, 32b + 2j + 1)} in its
 *       high nibble (offset by 8, as in GGUF); it sits at {@code 16 * G * b +} {@link #q4Byte}:
 *       bytes 2p and 2p + 1 of a row side by side, so that one load of {@code 2G} bytes widened to
 *       16-bit lanes pairs them per row.
 * </ul>
 *
 * <p>With the scales apart, the values of consecutive groups are one run of memory that the kernels
 * step through with a single affine index (and the JIT checks its bounds once per loop, not once
 * per block or per group).
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
  /**
   * Quantized types: each group from its values to the end of its scales, sliced once (else null);
   * a slice spans the values of the groups after it and the scales of the groups before it.
   */
  private final MemorySegment[] groups;
  /** Quantized types: where the scales of group 0 start in {@link #data} (else -1). */
  private final long scaleBase;
  /**
   * F16: no value is infinite or NaN (checked while packing), so the decode may widen the halves
   * without the special-value path; false where unknown.
   */
  private final boolean finiteHalves;

  PackedMatrix(String name, DType dtype, int rows, int cols, int groupRows, MemorySegment data, boolean finiteHalves) {
    this(name, dtype, rows, cols, groupRows, data,
        dtype.isQuantized() ? (long) groupsOf(rows, groupRows) * valueBytes(dtype, cols, groupRows) : -1,
        finiteHalves);
  }

  private PackedMatrix(String name, DType dtype, int rows, int cols, int groupRows, MemorySegment data,
      long scaleBase, boolean finiteHalves) {
    this.name = Objects.requireNonNull(name);
    this.finiteHalves = finiteHalves && dtype == DType.F16;
    this.dtype = Objects.requireNonNull(dtype);
    this.rows = rows;
    this.cols = cols;
    this.groupRows = groupRows;
    this.data = Objects.requireNonNull(data);
    this.scaleBase = scaleBase;
    long expected = dtype.isQuantized() ? scaleBase + groups() * scaleBytes() : groups() * groupBytes();
    if (data.byteSize() != expected || (dtype.isQuantized() && scaleBase < groups() * valueBytes())) {
      throw new IllegalArgumentException(name + ": packed data has " + data.byteSize() + " bytes, expected "
          + expected);
    }
    if (dtype == DType.Q8_0 || dtype == DType.Q4_0) {
      // Made here rather than per product: decoding slices every group of every matrix per token.
      groups = new MemorySegment[groups()];
      for (int g = 0; g < groups.length; g++) {
        groups[g] = data.asSlice(valueStart(g), scaleStart(g) + scaleBytes() - valueStart(g));
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

  /** F16 only: whether packing found no infinite or NaN value (the other types: false). */
  boolean finiteHalves() {
    return finiteHalves;
  }

  /** Rows per group (G). */
  public int groupRows() {
    return groupRows;
  }

  /** Number of row groups, {@code ceil(rows / G)}. */
  public int groups() {
    return groupsOf(rows, groupRows);
  }

  private static int groupsOf(int rows, int groupRows) {
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

  /** Bytes of the values of one group (quantized types). */
  long valueBytes() {
    return valueBytes(dtype, cols, groupRows);
  }

  private static long valueBytes(DType dtype, int cols, int groupRows) {
    return (cols / 32) * (dtype.blockBytes() - 2) * (long) groupRows;
  }

  /** Bytes of the f16 scales of one group (quantized types). */
  long scaleBytes() {
    return (cols / 32) * 2L * groupRows;
  }

  /** Offset in {@link #data} of the values of group {@code g} (quantized types). */
  long valueStart(int g) {
    return g * valueBytes();
  }

  /** Offset in {@link #data} of the f16 scales of group {@code g} (quantized types). */
  long scaleStart(int g) {
    return scaleBase + g * scaleBytes();
  }

  /** Offset of group {@code g}'s scales within {@link #group}{@code (g)} (quantized types). */
  long scaleOffset(int g) {
    return scaleStart(g) - valueStart(g);
  }

  /**
   * Group {@code g} of a quantized matrix as one segment: the values of all its blocks in order,
   * and its f16 scales from {@link #scaleOffset(int)} (quantized types only).
   */
  MemorySegment group(int g) {
    return groups[g];
  }

  /**
   * Quantized types: groups {@code [g, g + count)} as one segment, from the values of the first to
   * the end of the scales of the last: their values from offset 0 (one run), their scales from
   * {@link #scaleOffset(int) scaleOffset(g)} (one run).
   */
  MemorySegment run(int g, int count) {
    long start = valueStart(g);
    return data.asSlice(start, scaleStart(g + count - 1) + scaleBytes() - start);
  }

  /**
   * Bytes of weights, as stored (padding rows included): this matrix's own, also for a {@link
   * #rowBlock} (whose memory slice spans other groups' values and scales).
   */
  public long byteSize() {
    return groups() * groupBytes();
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
    String part = name + "[" + first + ":" + (first + count) + "]";
    int g = first / groupRows;
    if (dtype.isQuantized()) {
      // From the block's first values to the end of its last scales (the other groups' in between).
      long start = valueStart(g);
      long end = scaleStart(g + groups - 1) + scaleBytes();
      return new PackedMatrix(part, dtype, count, cols, groupRows, data.asSlice(start, end - start),
          scaleStart(g) - start, false);
    }
    return new PackedMatrix(part, dtype, count, cols, groupRows, data.asSlice(g * groupBytes(), groups * groupBytes()),
        finiteHalves);
  }

  @Override
  public String toString() {
    return name + " " + dtype + " [" + rows + ", " + cols + "] packed by " + groupRows;
  }
}
