package dev.rgemma.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.Quantize;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Packed-matrix kernels: the Vector API ones bit for bit against the scalar twin (both are one
 * fused multiply-add chain per output over the columns in order), against a float64 product of
 * the widened weights, across thread splits and token counts, on sizes that cut groups, blocks and
 * k-blocks awkwardly.
 */
class PackedKernelsTest {
  private static final double TOLERANCE = 2e-6;
  private static final int[] ROWS = {1, 7, 16, 17, 33, 70};
  private static final int[] FLOAT_COLS = {1, 7, 33, 257, 300};
  private static final int[] QUANT_COLS = {32, 96, 128, 288, 544};
  private static final int[] TOKENS = {1, 2, 13, 29};

  private static KernelImpl vector;
  private static WorkerPool pool;
  private static Arena arena;

  @BeforeAll
  static void setUp() {
    vector = KernelProvider.tryVector();
    if (vector == null) {
      fail("the Vector API implementation must be available in tests (--add-modules jdk.incubator.vector)");
    }
    pool = new WorkerPool(3);
    arena = Arena.ofShared();
  }

  @AfterAll
  static void tearDown() {
    pool.close();
    arena.close();
  }

  static Stream<Arguments> shapes() {
    List<Arguments> cases = new ArrayList<>();
    for (DType type : DType.values()) {
      for (int rows : ROWS) {
        for (int cols : type.isQuantized() ? QUANT_COLS : FLOAT_COLS) {
          for (int tokens : TOKENS) {
            cases.add(Arguments.of(type, rows, cols, tokens));
          }
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} [{1} x {2}] x {3} tokens")
  @MethodSource("shapes")
  void vectorMatchesScalarBitForBit(DType type, int rows, int cols, int tokens) {
    Random random = new Random(1000L * rows + 10L * cols + tokens + 7L * type.ordinal());
    WeightMatrix w = randomMatrix(type, rows, cols, random);
    PackedMatrix p = Packing.pack(w, vector.groupRows(), arena, pool);
    float[] x = KernelsTest.randomFloats(random, 5 + tokens * cols);
    float[] expected = new float[3 + tokens * rows];
    float[] single = new float[3 + tokens * rows];
    float[] pooled = new float[3 + tokens * rows];
    ScalarKernels.INSTANCE.matmulPacked(p, x, 5, tokens, expected, 3, 0, p.groups());
    vector.matmulPacked(p, x, 5, tokens, single, 3, 0, p.groups());
    Kernels.matmul(vector, pool, p, x, 5, tokens, pooled, 3);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(single[i]),
          "vector vs scalar twin, index " + i + ": " + expected[i] + " vs " + single[i]);
      assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(pooled[i]),
          "threads must not change a bit, index " + i);
    }
    assertEquals(0f, pooled[0], "values before outOffset untouched");
    float[] alone = new float[rows];
    for (int t = 0; t < tokens; t++) {
      vector.matmulPacked(p, x, 5 + t * cols, 1, alone, 0, 0, p.groups());
      for (int r = 0; r < rows; r++) {
        assertEquals(Float.floatToIntBits(single[3 + t * rows + r]), Float.floatToIntBits(alone[r]),
            "token " + t + " row " + r + " alone vs in a call of " + tokens);
      }
    }
    if (type == DType.Q4_0) {
      // Q4_0 multiplies int8-quantized inputs: exact against those, and within the quantization
      // step of the inputs (half of max |x| / 127 per element) against x itself.
      Q8Activations a = Q8Activations.of(x, 5, tokens, cols);
      float[] dequantized = new float[x.length];
      for (int t = 0; t < tokens; t++) {
        for (int c = 0; c < cols; c++) {
          dequantized[5 + t * cols + c] = a.values[t * cols + c] * a.scales[t * a.blocks + c / 32];
        }
      }
      assertCloseToFloat64(w, dequantized, 5, tokens, single, 3, TOLERANCE);
      assertCloseToFloat64(w, x, 5, tokens, single, 3, 0.5 / 127 * 4);
    } else {
      assertCloseToFloat64(w, x, 5, tokens, single, 3, TOLERANCE);
    }
  }

  /**
   * Every finite f16 bit pattern as a block scale (row r holds the 1024 patterns of one sign and
   * exponent, signs alternating by row; subnormals, -0 and negative scales included) through the Q8_0 and Q4_0 decode and
   * prefill kernels: the same bits as the scalar twin, which widens with a plain conversion.
   */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
  void everyFiniteScaleWidensExactly(DType type) {
    int rows = 62;
    int blocks = 1024;
    int cols = 32 * blocks;
    int blockBytes = type.blockBytes();
    byte[] bytes = new byte[rows * blocks * blockBytes];
    Random random = new Random(17);
    for (int r = 0; r < rows; r++) {
      int band = r / 2 + (r % 2) * 32; // sign and exponent, both signs in every row group; no exponent 31
      for (int b = 0; b < blocks; b++) {
        int bits = band * 1024 + b;
        int at = (r * blocks + b) * blockBytes;
        bytes[at] = (byte) bits;
        bytes[at + 1] = (byte) (bits >>> 8);
        for (int i = 2; i < blockBytes; i++) {
          bytes[at + i] = (byte) random.nextInt();
        }
      }
    }
    WeightMatrix w = new WeightMatrix("scales", type, rows, cols, MemorySegment.ofArray(bytes));
    PackedMatrix p = Packing.pack(w, vector.groupRows(), arena, pool);
    for (int tokens : new int[] {1, 5}) {
      float[] x = KernelsTest.randomFloats(random, tokens * cols);
      float[] expected = new float[tokens * rows];
      float[] actual = new float[tokens * rows];
      ScalarKernels.INSTANCE.matmulPacked(p, x, 0, tokens, expected, 0, 0, p.groups());
      vector.matmulPacked(p, x, 0, tokens, actual, 0, 0, p.groups());
      for (int i = 0; i < expected.length; i++) {
        assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
            tokens + " tokens, row " + i % rows + ": " + expected[i] + " vs " + actual[i]);
      }
    }
  }

  /**
   * Several single-token products in one split: the same bits as one matmul each (the last matrix
   * shares the first one's input, which Q4_0 quantizes once for both).
   */
  @ParameterizedTest
  @MethodSource("types")
  void matmulEachEqualsSeparateProducts(DType type) {
    Random random = new Random(5 + type.ordinal());
    int cols = type.isQuantized() ? 64 : 37;
    int[] rows = {48, 17, 160, 1, 33};
    PackedMatrix[] ws = new PackedMatrix[rows.length];
    int[] xOffsets = new int[rows.length];
    int[] outOffsets = new int[rows.length];
    float[] x = KernelsTest.randomFloats(random, 3 + rows.length * cols);
    float[] expected = new float[2 + 300];
    int at = 2;
    for (int i = 0; i < rows.length; i++) {
      ws[i] = Kernels.pack(randomMatrix(type, rows[i], cols, random), arena);
      xOffsets[i] = i == rows.length - 1 ? xOffsets[0] : 3 + ((i * 3) % (rows.length - 1)) * cols;
      outOffsets[i] = at;
      Kernels.matmul(ws[i], x, xOffsets[i], 1, expected, at);
      at += rows[i] + 1;
    }
    float[] actual = new float[expected.length];
    Kernels.matmulEach(ws, x, xOffsets, actual, outOffsets);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]), "output " + i);
    }
  }

  @Test
  void matmulEachRejectsMismatchedArguments() {
    PackedMatrix w = Kernels.pack(randomMatrix(DType.F32, 4, 8, new Random(1)), arena);
    assertThrows(IllegalArgumentException.class,
        () -> Kernels.matmulEach(new PackedMatrix[] {w}, new float[8], new int[] {0, 0}, new float[4], new int[] {0}));
    assertThrows(IndexOutOfBoundsException.class,
        () -> Kernels.matmulEach(new PackedMatrix[] {w}, new float[8], new int[] {1}, new float[4], new int[] {0}));
  }

  /**
   * The Vector API quantization of Q4_0 inputs gives the scalar reference's bits: values, scales,
   * sums and pair words, on blocks with ties (x * 127 / max landing on k + 0.5), zeros, negative
   * zeros, an all-zero block and one extreme value.
   */
  @Test
  void vectorQuantizationMatchesScalarBitForBit() {
    Random random = new Random(99);
    int tokens = 3;
    int cols = 160;
    float[] x = KernelsTest.randomFloats(random, 7 + tokens * cols);
    for (int c = 0; c < 31; c++) {
      x[7 + c] = (c - 16) * 0.5f; // with max |x| = 127 below, x * 127 / max = x: ties at odd c
    }
    x[7 + 31] = 127f;
    x[7 + 16] = -0f;
    java.util.Arrays.fill(x, 7 + cols + 32, 7 + cols + 64, 0f);
    x[7 + 2 * cols + 70] = 3e38f;
    Q8Activations expected = Q8Activations.of(x, 7, tokens, cols);
    Q8Activations actual = vector.quantize(x, 7, tokens, cols);
    assertTrue(java.util.Arrays.equals(expected.values, actual.values), "values");
    assertTrue(java.util.Arrays.equals(expected.sums, actual.sums), "sums");
    assertTrue(java.util.Arrays.equals(expected.pairWords, actual.pairWords), "pair words");
    for (int i = 0; i < expected.scales.length; i++) {
      assertEquals(Float.floatToIntBits(expected.scales[i]), Float.floatToIntBits(actual.scales[i]), "scale " + i);
    }
    assertEquals(1, expected.values[17], "0.5 rounds away from zero");
    assertEquals(-1, expected.values[15], "-0.5 rounds away from zero");
    assertEquals(-2, expected.values[13], "-1.5 rounds away from zero");
    assertEquals(0, expected.values[16], "-0");
  }

  /**
   * Products large enough that the tokens are arranged for the micro-kernels by several threads at
   * once (tile ranges split over the pool), with full 12-token tiles, 4-token tiles and single
   * tokens: the same bits as the scalar twin.
   */
  @ParameterizedTest
  @MethodSource("types")
  void tokensArrangedInParallelGiveTheSameBits(DType type) {
    Random random = new Random(77 + type.ordinal());
    int rows = 40;
    int cols = 1024;
    int tokens = 41;
    WeightMatrix w = randomMatrix(type, rows, cols, random);
    PackedMatrix p = Packing.pack(w, vector.groupRows(), arena, pool);
    float[] x = KernelsTest.randomFloats(random, 2 + tokens * cols);
    pooledMatchesScalar(p, x, 2, tokens, "");
  }

  /**
   * Decoding streams several consecutive groups per pass (for quantized types the values and the
   * scales of consecutive groups are each one run; float groups follow each other): many groups,
   * with remainders of every kind (a last short pass, fewer than four groups, a partial last group,
   * an odd column count), alone and split over the pool: the scalar twin's bits.
   * A row block of such a matrix (groups from the middle) reads and multiplies as those rows.
   */
  @ParameterizedTest(name = "{0} [{1} x {2}]")
  @org.junit.jupiter.params.provider.CsvSource({"Q8_0, 661, 96", "Q8_0, 981, 544", "Q8_0, 602, 2560", "Q8_0, 64, 7680",
      "Q8_0, 2049, 32", "Q8_0, 333, 64", "Q8_0, 150, 160", "Q4_0, 661, 96", "Q4_0, 981, 544", "Q4_0, 602, 2560", "Q4_0, 2049, 32",
      "F32, 661, 96", "F32, 2049, 33", "F32, 130, 256", "BF16, 981, 545", "BF16, 602, 2560", "F16, 661, 97",
      "F16, 64, 7680"})
  void decodeOverManyGroupsGivesTheSameBits(DType type, int rows, int cols) {
    Random random = new Random(17L * rows + cols);
    WeightMatrix w = randomMatrix(type, rows, cols, random);
    PackedMatrix p = Packing.pack(w, vector.groupRows(), arena, pool);
    float[] x = KernelsTest.randomFloats(random, 2 + cols);
    float[] expected = new float[1 + rows];
    float[] single = new float[1 + rows];
    float[] pooled = new float[1 + rows];
    ScalarKernels.INSTANCE.matmulPacked(p, x, 2, 1, expected, 1, 0, p.groups());
    vector.matmulPacked(p, x, 2, 1, single, 1, 0, p.groups());
    Kernels.matmul(vector, pool, p, x, 2, 1, pooled, 1);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(single[i]), "row " + (i - 1));
      assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(pooled[i]), "pooled, row " + (i - 1));
    }
    // Group ranges that do not start at 0 (as the pool's chunks): rows outside stay untouched.
    int g = vector.groupRows();
    if (p.groups() > 9) {
      float[] part = new float[1 + rows];
      vector.matmulPacked(p, x, 2, 1, part, 1, 3, p.groups() - 1);
      for (int r = 0; r < rows; r++) {
        float want = r >= 3 * g && r < (p.groups() - 1) * g ? expected[1 + r] : 0f;
        assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(part[1 + r]), "range, row " + r);
      }
    }
    if (rows >= 8 * g) {
      int first = 2 * g;
      int count = 5 * g;
      PackedMatrix block = p.rowBlock(first, count);
      assertEquals(count, block.rows());
      assertEquals(5 * p.groupBytes(), block.byteSize());
      float[] inBlock = new float[count];
      vector.matmulPacked(block, x, 2, 1, inBlock, 0, 0, block.groups());
      float[] row = new float[cols];
      float[] stored = new float[cols];
      for (int r = 0; r < count; r++) {
        assertEquals(Float.floatToIntBits(expected[1 + first + r]), Float.floatToIntBits(inBlock[r]), "block row " + r);
        Kernels.readRow(block, r, row, 0);
        ScalarKernels.INSTANCE.readRow(w, first + r, stored, 0);
        for (int c = 0; c < cols; c++) {
          assertEquals(Float.floatToIntBits(stored[c]), Float.floatToIntBits(row[c]), "block row " + r + " col " + c);
        }
      }
    }
  }

  /**
   * Enough row groups for several blocks of group pairs in the prefill product (each block shares
   * the tokens' k-blocks; whole pairs store their last k-block straight into the output), an odd
   * group count with a partial last group, several k-blocks and every micro-kernel width, with the
   * output at an offset inside a larger array: the same bits as the scalar twin, and nothing
   * written outside the product.
   */
  @ParameterizedTest
  @MethodSource("types")
  void prefillBlocksOfGroupPairsGiveTheSameBits(DType type) {
    Random random = new Random(91 + type.ordinal());
    int rows = 37 * vector.groupRows() + 3;
    int cols = type.isQuantized() ? 544 : 601;
    int tokens = 29;
    WeightMatrix w = randomMatrix(type, rows, cols, random);
    PackedMatrix p = Packing.pack(w, vector.groupRows(), arena, pool);
    float[] x = KernelsTest.randomFloats(random, 1 + tokens * cols);
    float[] expected = new float[5 + tokens * rows + 5];
    float[] actual = new float[5 + tokens * rows + 5];
    java.util.Arrays.fill(expected, 7f);
    java.util.Arrays.fill(actual, 7f);
    ScalarKernels.INSTANCE.matmulPacked(p, x, 1, tokens, expected, 5, 0, p.groups());
    Kernels.matmul(vector, pool, p, x, 1, tokens, actual, 5);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
          "element " + i + ": " + expected[i] + " vs " + actual[i]);
    }
  }

  @ParameterizedTest
  @MethodSource("types")
  void packedRowsEqualStoredRows(DType type) {
    Random random = new Random(type.ordinal());
    int cols = type.isQuantized() ? 96 : 45;
    WeightMatrix w = randomMatrix(type, 37, cols, random);
    PackedMatrix p = Kernels.pack(w, arena);
    // 45 columns: BF16 pairs the last column with zeros.
    long rowBytes = type == DType.BF16 ? 2L * 46 : w.rowBytes();
    assertEquals(rowBytes * 3 * p.groupRows(), p.byteSize(), "same bytes per weight as stored, 3 groups");
    float[] expected = new float[cols];
    float[] actual = new float[cols + 2];
    for (int r = 0; r < 37; r++) {
      ScalarKernels.INSTANCE.readRow(w, r, expected, 0);
      Kernels.readRow(p, r, actual, 2);
      for (int c = 0; c < cols; c++) {
        assertEquals(Float.floatToIntBits(expected[c]), Float.floatToIntBits(actual[c + 2]),
            "row " + r + " col " + c);
      }
    }
  }

  static Stream<DType> types() {
    return Stream.of(DType.values());
  }

  @Test
  void facadeChecksArguments() {
    PackedMatrix p = Kernels.pack(randomMatrix(DType.F32, 4, 8, new Random(1)), arena);
    assertThrows(IndexOutOfBoundsException.class, () -> Kernels.matmul(p, new float[7], 0, 1, new float[4], 0));
    assertThrows(IndexOutOfBoundsException.class, () -> Kernels.matmul(p, new float[8], 0, 1, new float[3], 0));
    assertThrows(IllegalArgumentException.class, () -> Kernels.matmul(p, new float[8], 0, 0, new float[4], 0));
    assertThrows(IndexOutOfBoundsException.class, () -> Kernels.readRow(p, 4, new float[8], 0));
    assertThrows(IllegalArgumentException.class,
        () -> Kernels.pack(new WeightMatrix("odd", DType.Q8_0, 1, 16, MemorySegment.ofArray(new byte[17])), arena));
  }

  @Test
  void f16InfinitiesAndNaNsTakeTheExactWidening() {
    // Random halves (finite: the fast widening) and the same with +inf, -inf and NaN in three rows
    // (the exact one); both must agree with the scalar twin bit for bit, decode and prefill.
    Random random = new Random(77);
    int rows = 100;
    int cols = 300;
    WeightMatrix finite = randomMatrix(DType.F16, rows, cols, random);
    byte[] bytes = finite.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    int[][] specials = {{3, 17, 0x7C00}, {40, 299, 0xFC00}, {97, 128, 0x7E00}}; // row, column, half
    for (int[] s : specials) {
      int at = 2 * (s[0] * cols + s[1]);
      bytes[at] = (byte) s[2];
      bytes[at + 1] = (byte) (s[2] >>> 8);
    }
    WeightMatrix special = new WeightMatrix("w", DType.F16, rows, cols, MemorySegment.ofArray(bytes));
    PackedMatrix pf = Packing.pack(finite, vector.groupRows(), arena, pool);
    PackedMatrix ps = Packing.pack(special, vector.groupRows(), arena, pool);
    assertTrue(pf.finiteHalves(), "random finite halves");
    assertTrue(!ps.finiteHalves(), "infinities and a NaN");
    for (PackedMatrix p : new PackedMatrix[] {pf, ps}) {
      for (int tokens : new int[] {1, 3}) {
        float[] x = KernelsTest.randomFloats(random, tokens * cols);
        float[] actual = pooledMatchesScalar(p, x, 0, tokens, p == pf ? "finite, " : "special, ");
        if (p == ps) {
          for (int[] s : specials) {
            assertTrue(Float.isNaN(actual[s[0]]) || Float.isInfinite(actual[s[0]]), "row " + s[0] + ": " + actual[s[0]]);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
  void packingRejectsNonFiniteScales(DType type) {
    for (int bits : new int[] {0x7C00, 0xFC00, 0x7E00}) { // +inf, -inf, NaN
      byte[] data = Quantize.to(type, KernelsTest.randomFloats(new Random(5), 3 * 64));
      int blockBytes = type == DType.Q8_0 ? 34 : 18;
      int at = blockBytes * 3; // row 1, block 1: rows of 2 blocks
      data[at] = (byte) bits;
      data[at + 1] = (byte) (bits >>> 8);
      WeightMatrix w = new WeightMatrix("layer.weight", type, 3, 64, MemorySegment.ofArray(data));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Kernels.pack(w, arena));
      assertTrue(e.getMessage().contains("layer.weight") && e.getMessage().contains("row 1, block 1")
          && e.getMessage().contains("non-finite scale"), e.getMessage());
    }
  }

  /** The pooled vector product of {@code tokens} rows of x, checked bit for bit against the scalar twin. */
  private static float[] pooledMatchesScalar(PackedMatrix p, float[] x, int xOffset, int tokens, String what) {
    int rows = p.rows();
    float[] expected = new float[tokens * rows];
    float[] actual = new float[tokens * rows];
    ScalarKernels.INSTANCE.matmulPacked(p, x, xOffset, tokens, expected, 0, 0, p.groups());
    Kernels.matmul(vector, pool, p, x, xOffset, tokens, actual, 0);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
          what + "token " + i / rows + " row " + i % rows + ": " + expected[i] + " vs " + actual[i]);
    }
    return actual;
  }

  static WeightMatrix randomMatrix(DType type, int rows, int cols, Random random) {
    float[] values = KernelsTest.randomFloats(random, rows * cols);
    if (type.isQuantized() || type == DType.F16) {
      // Include an all-zero block (scale 0) and tiny values (f16 subnormal scales).
      for (int c = 0; c < Math.min(32, cols); c++) {
        values[c] = 0f;
        values[values.length - 1 - c] *= 1e-6f;
      }
    }
    return new WeightMatrix("w", type, rows, cols, MemorySegment.ofArray(Quantize.to(type, values)));
  }

  /** Each output within TOLERANCE * sum |w x| of the float64 product of the widened weights. */
  private static void assertCloseToFloat64(
      WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset, double tolerance) {
    int rows = w.rows();
    int cols = w.cols();
    float[] row = new float[cols];
    for (int r = 0; r < rows; r++) {
      ScalarKernels.INSTANCE.readRow(w, r, row, 0);
      for (int t = 0; t < tokens; t++) {
        double sum = 0;
        double magnitude = 0;
        for (int c = 0; c < cols; c++) {
          double term = (double) row[c] * x[xOffset + t * cols + c];
          sum += term;
          magnitude += Math.abs(term);
        }
        float actual = out[outOffset + t * rows + r];
        if (Math.abs(sum - actual) > tolerance * magnitude + 1e-30) {
          fail("out[" + t + ", " + r + "] = " + actual + ", float64 " + sum + " (scale " + magnitude + ")");
        }
      }
    }
  }
}
