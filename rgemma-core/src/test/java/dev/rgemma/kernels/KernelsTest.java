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

/** The Vector API kernels against their scalar twins, on awkward sizes, per dtype. */
class KernelsTest {
  /** Relative to sum |w| |x|: float32 summation-order differences are far below this. */
  private static final double TOLERANCE = 2e-6;

  private static final int[] SIZES = {1, 7, 13, 33, 257};
  private static final int[] BLOCK_COUNTS = {1, 3, 7, 13, 33};
  private static final int[] TOKENS = {1, 3, 17};

  private static KernelImpl vector;
  private static WorkerPool pool;

  @BeforeAll
  static void setUp() {
    vector = KernelProvider.tryVector();
    if (vector == null) {
      fail("the Vector API implementation must be available in tests (--add-modules jdk.incubator.vector)");
    }
    pool = new WorkerPool(3);
  }

  @AfterAll
  static void tearDown() {
    pool.close();
  }

  static Stream<Arguments> shapes() {
    List<Arguments> cases = new ArrayList<>();
    for (DType type : DType.values()) {
      int[] colChoices = type.isQuantized() ? BLOCK_COUNTS : SIZES;
      for (int rows : SIZES) {
        for (int colChoice : colChoices) {
          int cols = type.isQuantized() ? 32 * colChoice : colChoice;
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
  void vectorMatchesScalar(DType type, int rows, int cols, int tokens) {
    Random random = new Random(31L * rows + 17L * cols + tokens + type.ordinal());
    WeightMatrix w = randomMatrix(type, rows, cols, random);
    float[] x = randomFloats(random, 5 + tokens * cols);
    float[] expected = new float[3 + tokens * rows];
    float[] single = new float[3 + tokens * rows];
    float[] pooled = new float[3 + tokens * rows];
    ScalarKernels.INSTANCE.matmulRows(w, x, 5, tokens, expected, 3, 0, rows);
    vector.matmulRows(w, x, 5, tokens, single, 3, 0, rows);
    Kernels.matmul(vector, pool, w, x, 5, tokens, pooled, 3);
    float[] dense = dequantized(w);
    assertClose(expected, single, dense, x, rows, cols, tokens, "single thread");
    assertClose(expected, pooled, dense, x, rows, cols, tokens, "pool");
    assertEquals(0f, pooled[0], "values before outOffset untouched");
    for (int i = 0; i < single.length; i++) {
      assertEquals(Float.floatToIntBits(single[i]), Float.floatToIntBits(pooled[i]),
          "splitting rows over threads must not change a bit, index " + i);
    }
    // A token's outputs must not depend on the other tokens of the call (chunking invariance).
    float[] alone = new float[rows];
    for (int t = 0; t < tokens; t++) {
      vector.matmulRows(w, x, 5 + t * cols, 1, alone, 0, 0, rows);
      for (int r = 0; r < rows; r++) {
        assertEquals(Float.floatToIntBits(single[3 + t * rows + r]), Float.floatToIntBits(alone[r]),
            "token " + t + " row " + r + " alone vs in a chunk of " + tokens);
      }
    }
  }

  /** Quantized kernels against widening every weight to float32 first, then an f32 matmul. */
  @ParameterizedTest(name = "{0} [{1} x {2}] x {3} tokens")
  @MethodSource("shapes")
  void quantizedMatchesDequantizedF32(DType type, int rows, int cols, int tokens) {
    if (!type.isQuantized()) {
      return;
    }
    Random random = new Random(7L * rows + cols + 3L * tokens);
    WeightMatrix w = randomMatrix(type, rows, cols, random);
    float[] dense = dequantized(w);
    WeightMatrix f32 = new WeightMatrix("dense", DType.F32, rows, cols,
        MemorySegment.ofArray(Quantize.to(DType.F32, dense)));
    float[] x = randomFloats(random, tokens * cols);
    float[] expected = new float[tokens * rows];
    float[] actual = new float[tokens * rows];
    Kernels.matmul(vector, pool, f32, x, 0, tokens, expected, 0);
    Kernels.matmul(vector, pool, w, x, 0, tokens, actual, 0);
    assertClose(expected, actual, dense, x, rows, cols, tokens, "quantized vs dequantized");
  }

  @ParameterizedTest
  @MethodSource("dtypes")
  void readRowIsExact(DType type) {
    Random random = new Random(type.ordinal());
    int cols = type.isQuantized() ? 32 * 33 : 257;
    WeightMatrix w = randomMatrix(type, 3, cols, random);
    for (int r = 0; r < 3; r++) {
      float[] expected = new float[cols];
      float[] actual = new float[cols + 2];
      ScalarKernels.INSTANCE.readRow(w, r, expected, 0);
      vector.readRow(w, r, actual, 2);
      for (int c = 0; c < cols; c++) {
        assertEquals(Float.floatToIntBits(expected[c]), Float.floatToIntBits(actual[c + 2]),
            type + " row " + r + " col " + c);
      }
    }
  }

  static Stream<DType> dtypes() {
    return Stream.of(DType.values());
  }

  /** Every one of the 65536 half-precision bit patterns, including subnormals, infinities, NaNs. */
  @Test
  void f16WideningCoversEveryBitPattern() {
    byte[] bytes = new byte[2 * 65536];
    for (int i = 0; i < 65536; i++) {
      bytes[2 * i] = (byte) i;
      bytes[2 * i + 1] = (byte) (i >>> 8);
    }
    WeightMatrix w = new WeightMatrix("all", DType.F16, 1, 65536, MemorySegment.ofArray(bytes));
    float[] row = new float[65536];
    vector.readRow(w, 0, row, 0);
    for (int i = 0; i < 65536; i++) {
      float expected = Float.float16ToFloat((short) i);
      if (Float.isNaN(expected)) {
        assertTrue(Float.isNaN(row[i]), "pattern " + Integer.toHexString(i));
      } else {
        assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(row[i]),
            "pattern " + Integer.toHexString(i));
      }
    }
  }

  /** Q4_0 nibble order and offset, checked on a hand-written block. */
  @Test
  void q4LayoutLowNibblesFirst() {
    byte[] block = new byte[18];
    block[0] = 0x00; // f16 2.0 = 0x4000, little-endian
    block[1] = 0x40;
    block[2] = (byte) 0xF0; // element 0: 0 - 8 = -8, element 16: 15 - 8 = 7
    block[3] = 0x19; // element 1: 9 - 8 = 1, element 17: 1 - 8 = -7
    for (int i = 4; i < 18; i++) {
      block[i] = (byte) 0x88; // zeros
    }
    WeightMatrix w = new WeightMatrix("q4", DType.Q4_0, 1, 32, MemorySegment.ofArray(block));
    float[] x = new float[32];
    x[0] = 1;
    x[16] = 10;
    x[1] = 100;
    x[17] = 1000;
    float[] out = new float[1];
    vector.matmulRows(w, x, 0, 1, out, 0, 0, 1);
    assertEquals(2f * (-8 * 1 + 7 * 10 + 1 * 100 - 7 * 1000), out[0]);
    Kernels.matmul(ScalarKernels.INSTANCE, pool, w, x, 0, 1, out, 0);
    assertEquals(2f * (-8 * 1 + 7 * 10 + 1 * 100 - 7 * 1000), out[0]);
  }

  @Test
  void facadeChecksRanges() {
    WeightMatrix w = randomMatrix(DType.F32, 4, 8, new Random(1));
    assertThrows(IndexOutOfBoundsException.class,
        () -> Kernels.matmul(w, new float[15], 0, 2, new float[8], 0));
    assertThrows(IndexOutOfBoundsException.class,
        () -> Kernels.matmul(w, new float[16], 0, 2, new float[8], 1));
    assertThrows(IllegalArgumentException.class,
        () -> Kernels.matmul(w, new float[16], 0, 0, new float[8], 0));
    assertThrows(IllegalArgumentException.class, () -> Kernels.setThreads(0));
  }

  @Test
  void scalarCanBeForced() {
    String old = System.getProperty(KernelProvider.PROPERTY);
    try {
      System.setProperty(KernelProvider.PROPERTY, "scalar");
      assertEquals("scalar", KernelProvider.select().name());
      System.setProperty(KernelProvider.PROPERTY, "vector");
      assertTrue(KernelProvider.select().name().startsWith("vector"));
      System.setProperty(KernelProvider.PROPERTY, "fast");
      assertThrows(IllegalArgumentException.class, KernelProvider::select);
    } finally {
      if (old == null) {
        System.clearProperty(KernelProvider.PROPERTY);
      } else {
        System.setProperty(KernelProvider.PROPERTY, old);
      }
    }
  }

  /** Weights in native memory, like memory-mapped checkpoints. */
  static WeightMatrix randomMatrix(DType type, int rows, int cols, Random random) {
    float[] values = randomFloats(random, rows * cols);
    byte[] bytes = Quantize.to(type, values);
    MemorySegment data = Arena.ofAuto().allocate(bytes.length, 64);
    data.copyFrom(MemorySegment.ofArray(bytes));
    return new WeightMatrix("w", type, rows, cols, data);
  }

  /** F32 matrices over float[] heap segments (the model's attention uses them), with an offset. */
  @ParameterizedTest
  @MethodSource("heapShapes")
  void floatArrayBackedMatrices(int rows, int cols, int tokens) {
    Random random = new Random(rows * 1000L + cols);
    float[] backing = randomFloats(random, 5 + rows * cols);
    WeightMatrix w = new WeightMatrix("heap", DType.F32, rows, cols,
        MemorySegment.ofArray(backing).asSlice(4L * 5, 4L * rows * cols));
    float[] x = randomFloats(random, tokens * cols);
    float[] expected = new float[tokens * rows];
    float[] actual = new float[tokens * rows];
    ScalarKernels.INSTANCE.matmulRows(w, x, 0, tokens, expected, 0, 0, rows);
    Kernels.matmul(vector, pool, w, x, 0, tokens, actual, 0);
    float[] dense = java.util.Arrays.copyOfRange(backing, 5, backing.length);
    assertClose(expected, actual, dense, x, rows, cols, tokens, "float[] segment");
    float[] row = new float[cols];
    vector.readRow(w, rows - 1, row, 0);
    assertEquals(backing[5 + (rows - 1) * cols + cols - 1], row[cols - 1]);
  }

  static Stream<Arguments> heapShapes() {
    return Stream.of(Arguments.of(1, 1, 1), Arguments.of(7, 33, 3), Arguments.of(257, 13, 17),
        Arguments.of(33, 257, 1));
  }

  static float[] randomFloats(Random random, int n) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }

  private static float[] dequantized(WeightMatrix w) {
    float[] dense = new float[w.rows() * w.cols()];
    for (int r = 0; r < w.rows(); r++) {
      ScalarKernels.INSTANCE.readRow(w, r, dense, r * w.cols());
    }
    return dense;
  }

  /** |expected - actual| <= TOLERANCE * sum_c |w[r, c] x[t, c]| for every output. */
  @Test
  void dotRowsMatchScalarTwinAndFloat64() {
    Random random = new Random(17);
    int[] rowCounts = {1, 3, 4, 5, 9, 37};
    int[] colCounts = {1, 5, 15, 16, 17, 33, 256, 261};
    for (int rows : rowCounts) {
      for (int cols : colCounts) {
        for (int tokens : new int[] {1, 2, 11}) {
          int stride = cols + random.nextInt(3);
          int mOffset = random.nextInt(5);
          float[] m = new float[mOffset + (rows - 1) * stride + cols];
          float[] x = new float[3 + tokens * cols];
          for (int i = 0; i < m.length; i++) {
            m[i] = (float) random.nextGaussian();
          }
          for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
          }
          float[] expected = new float[2 + tokens * rows];
          float[] actual = new float[2 + tokens * rows];
          Kernels.dotRows(ScalarKernels.INSTANCE, m, mOffset, rows, cols, stride, x, 3, tokens, expected, 2);
          Kernels.dotRows(vector, m, mOffset, rows, cols, stride, x, 3, tokens, actual, 2);
          for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
              double exact = 0;
              double magnitude = 0;
              for (int c = 0; c < cols; c++) {
                double p = (double) m[mOffset + r * stride + c] * x[3 + t * cols + c];
                exact += p;
                magnitude += Math.abs(p);
              }
              int i = 2 + t * rows + r;
              String what = rows + "x" + cols + " stride " + stride + " tokens " + tokens + " out[" + t + ", " + r + "]";
              assertTrue(Math.abs(expected[i] - exact) <= TOLERANCE * magnitude, "scalar " + what);
              assertTrue(Math.abs(actual[i] - exact) <= TOLERANCE * magnitude, "vector " + what);
            }
          }
          assertEquals(0f, actual[0]);
          assertEquals(0f, actual[1]);
        }
      }
    }
  }

  @Test
  void softCapMatchesScalarTwinBitForBitAndTanh() {
    Random random = new Random(31);
    float cap = 30f;
    for (int n : new int[] {1, 15, 16, 17, 100, 5000}) {
      float[] x = new float[n + 2];
      for (int i = 0; i < x.length; i++) {
        // Logits: mostly moderate, some near the 0.5 * cap switch-over, some huge.
        x[i] = (float) (random.nextGaussian() * (i % 3 == 0 ? 5 : i % 3 == 1 ? 40 : 400));
      }
      if (n > 8) {
        x[2] = 15f; // |y| = 0.5 exactly
        x[3] = -14.999999f;
        x[4] = -0f;
        x[5] = Float.POSITIVE_INFINITY;
        x[6] = Float.NEGATIVE_INFINITY;
        x[7] = 1e-30f;
        x[8] = 5000f;
      }
      assertTwinsAgree("softCap", (impl, a, from, to) -> impl.softCap(a, from, to, cap), x, 2,
          (input, output) -> {
            double exact = cap * Math.tanh((double) (input / cap));
            assertTrue(Math.abs(output - exact) <= 4 * Math.ulp((float) exact),
                "softCap(" + input + ") = " + output + ", exact " + exact);
          });
    }
    float[] signed = {-0f, Float.NaN};
    vector.softCap(signed, 0, 2, cap);
    assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(signed[0]), "-0 stays -0");
    assertTrue(Float.isNaN(signed[1]), "NaN stays NaN");
  }

  @Test
  void expMatchesScalarTwinBitForBitAndMathExp() {
    Random random = new Random(29);
    for (int n : new int[] {1, 15, 16, 17, 100, 1000}) {
      float[] x = new float[n + 2];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) (random.nextGaussian() * 20);
      }
      if (n > 6) {
        x[2] = -120f; // 0
        x[3] = 100f; // +inf
        x[4] = Float.NEGATIVE_INFINITY;
        x[5] = -87f;
        x[6] = 88f;
      }
      assertTwinsAgree("exp", KernelImpl::exp, x, 2, (input, output) -> {
        double exact = Math.exp(input);
        if (exact > Float.MAX_VALUE * 0.9 || input > ScalarKernels.EXP_MAX) {
          assertEquals(Float.POSITIVE_INFINITY, output, "exp(" + input + ")");
        } else if (input < ScalarKernels.EXP_MIN) {
          assertEquals(0f, output, "exp(" + input + ")");
        } else {
          assertTrue(Math.abs(output - exact) <= 3e-7 * exact, "exp(" + input + ") = " + output + ", exact " + exact);
        }
      });
    }
    float[] nan = {Float.NaN};
    ScalarKernels.INSTANCE.exp(nan, 0, 1);
    assertTrue(Float.isNaN(nan[0]), "exp(NaN)");
  }

  @Test
  void geluMatchesScalarTwin() {
    Random random = new Random(23);
    for (int n : new int[] {1, 15, 16, 17, 100, 1000}) {
      float[] x = new float[n + 3];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) (random.nextGaussian() * 4);
      }
      x[3] = 0f;
      if (n > 4) {
        x[4] = -0f;
        x[5] = -30f;
        x[6] = 30f;
      }
      assertTwinsAgree("gelu", KernelImpl::geluTanh, x, 3, (input, output) -> {
        double exact = input / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (input + 0.044715 * Math.pow(input, 3))));
        assertTrue(Math.abs(output - exact) <= 2e-6 * Math.abs(input) + 1e-30,
            "gelu(" + input + ") = " + output + ", exact " + exact);
      });
    }
  }

  @Test
  void rowsTimesColumnGroupsMatchesItsScalarTwinAndThePackedProductBitForBit() {
    Random random = new Random(31);
    for (int rows : new int[] {1, 3, 4, 5, 10, 13, 15}) {
      for (int inner : new int[] {1, 7, 64, 257}) {
        for (int cols : new int[] {1, 15, 16, 33, 48, 64, 100, 130, 260}) {
          int aStride = inner + 3;
          int groupStride = 16 * inner + 5;
          int groups = (cols + 15) / 16;
          int outStride = cols + 2;
          float[] a = gaussians(random, 2 + rows * aStride);
          float[] b = gaussians(random, 1 + groups * groupStride);
          float[] scalar = new float[1 + rows * outStride];
          float[] fromVector = scalar.clone();
          ScalarKernels.INSTANCE.rowsTimesColumnGroups(
              a, 2, aStride, rows, inner, b, 1, groupStride, cols, scalar, 1, outStride, 0, groups);
          // Two group ranges, as a split over threads would give them.
          int middle = groups / 2;
          vector.rowsTimesColumnGroups(a, 2, aStride, rows, inner, b, 1, groupStride, cols, fromVector, 1, outStride, 0, middle);
          vector.rowsTimesColumnGroups(a, 2, aStride, rows, inner, b, 1, groupStride, cols, fromVector, 1, outStride, middle,
              groups);
          float[] pooled = new float[scalar.length];
          Kernels.rowsTimesColumnGroups(a, 2, aStride, rows, inner, b, 1, groupStride, cols, pooled, 1, outStride);
          // The packed product of b's transpose ([cols, inner]) with a's rows as tokens.
          float[] bT = new float[cols * inner];
          float[] aRows = new float[rows * inner];
          for (int k = 0; k < inner; k++) {
            for (int j = 0; j < cols; j++) {
              bT[j * inner + k] = b[bIndex(j, k, groupStride)];
            }
          }
          for (int i = 0; i < rows; i++) {
            System.arraycopy(a, 2 + i * aStride, aRows, i * inner, inner);
          }
          float[] packedOut = new float[rows * cols];
          try (Arena arena = Arena.ofShared()) {
            PackedMatrix packed = Kernels.pack(
                new WeightMatrix("bT", DType.F32, cols, inner, MemorySegment.ofArray(bT)), arena);
            Kernels.matmul(packed, aRows, 0, rows, packedOut, 0);
          }
          String shape = rows + " x " + inner + " x " + cols;
          for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
              int o = 1 + i * outStride + j;
              double exact = 0;
              double bound = 0;
              for (int k = 0; k < inner; k++) {
                double product = (double) a[2 + i * aStride + k] * b[bIndex(j, k, groupStride)];
                exact += product;
                bound += Math.abs(product);
              }
              assertEquals(Float.floatToIntBits(scalar[o]), Float.floatToIntBits(fromVector[o]), shape + " vector " + i + "," + j);
              assertEquals(Float.floatToIntBits(scalar[o]), Float.floatToIntBits(pooled[o]), shape + " pool " + i + "," + j);
              assertEquals(Float.floatToIntBits(scalar[o]), Float.floatToIntBits(packedOut[i * cols + j]),
                  shape + " packed " + i + "," + j);
              assertTrue(Math.abs(scalar[o] - exact) <= TOLERANCE * bound + 1e-30, shape + " accuracy " + i + "," + j);
            }
            for (int j = cols; j < outStride; j++) {
              assertEquals(0f, fromVector[1 + i * outStride + j], shape + " written past the columns");
            }
          }
        }
      }
    }
  }

  /** Index in a column-grouped b (from offset 1) of row k, column j. */
  private static int bIndex(int j, int k, int groupStride) {
    return 1 + (j / 16) * groupStride + k * 16 + j % 16;
  }

  @Test
  void rowsTimesColumnGroupsChecksItsShapes() {
    float[] a = new float[8];
    float[] b = new float[64];
    float[] out = new float[8];
    assertThrows(IllegalArgumentException.class,
        () -> Kernels.rowsTimesColumnGroups(a, 0, 1, 2, 2, b, 0, 32, 2, out, 0, 2)); // a's stride
    assertThrows(IllegalArgumentException.class,
        () -> Kernels.rowsTimesColumnGroups(a, 0, 2, 2, 2, b, 0, 31, 2, out, 0, 2)); // group stride
    assertThrows(IndexOutOfBoundsException.class,
        () -> Kernels.rowsTimesColumnGroups(a, 0, 5, 2, 5, b, 0, 80, 2, out, 0, 2)); // a too short
    assertThrows(IndexOutOfBoundsException.class,
        () -> Kernels.rowsTimesColumnGroups(a, 0, 2, 2, 2, b, 0, 32, 20, out, 0, 20)); // b: two groups
    assertThrows(IndexOutOfBoundsException.class,
        () -> Kernels.rowsTimesColumnGroups(a, 0, 2, 2, 2, b, 0, 32, 2, out, 6, 2)); // out
  }

  private static float[] gaussians(Random random, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) random.nextGaussian();
    }
    return x;
  }

  @Test
  void geluProductMatchesItsScalarTwinAndTheUnfusedSteps() {
    Random random = new Random(29);
    for (int n : new int[] {1, 15, 16, 17, 33, 100, 1000}) {
      int g = 5;
      int u = 2 * n + 7;
      int b = 3;
      float[] buffer = new float[3 * n + 9];
      float[] gateBias = new float[n + b];
      float[] upBias = new float[n + b];
      for (int i = 0; i < buffer.length; i++) {
        buffer[i] = (float) (random.nextGaussian() * 4);
      }
      for (int i = 0; i < gateBias.length; i++) {
        gateBias[i] = (float) random.nextGaussian();
        upBias[i] = (float) random.nextGaussian();
      }
      buffer[g] = -30f;
      float[] unfused = buffer.clone();
      for (int i = 0; i < n; i++) {
        unfused[g + i] += gateBias[b + i];
        unfused[u + i] += upBias[b + i];
      }
      ScalarKernels.INSTANCE.geluTanh(unfused, g, g + n);
      for (int i = 0; i < n; i++) {
        unfused[g + i] *= unfused[u + i];
      }
      float[] scalar = buffer.clone();
      float[] fused = buffer.clone();
      ScalarKernels.INSTANCE.geluProduct(scalar, g, gateBias, scalar, u, upBias, b, n);
      vector.geluProduct(fused, g, gateBias, fused, u, upBias, b, n);
      for (int i = 0; i < buffer.length; i++) {
        boolean gate = i >= g && i < g + n;
        float expected = gate ? unfused[i] : buffer[i]; // up and everything else untouched
        assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(scalar[i]), "scalar, n " + n + ", index " + i);
        assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(fused[i]), "vector, n " + n + ", index " + i);
      }
    }
  }

  @Test
  void geluProductChecksItsRanges() {
    float[] gate = new float[10];
    float[] bias = new float[5];
    assertThrows(IndexOutOfBoundsException.class, () -> Kernels.geluProduct(gate, 0, bias, gate, 6, bias, 1, 5));
    assertThrows(IllegalArgumentException.class, () -> Kernels.geluProduct(gate, 0, bias, gate, 0, new float[4], 1, 5));
    Kernels.geluProduct(gate, 0, bias, gate, 5, bias, 1, 5);
    assertEquals(0f, gate[0]);
  }

  /** An element-wise kernel in place on {@code x[from, to)} of a given implementation. */
  private interface ElementWise {
    void apply(KernelImpl impl, float[] x, int from, int to);
  }

  /** A check of one output against its input. */
  private interface Accuracy {
    void check(float input, float output);
  }

  /**
   * Runs {@code op} on {@code x[from, x.length)} (copies) with the scalar twin and the Vector API
   * kernels: elements before {@code from} untouched, every output the scalar twin's bits, and each
   * output passing {@code accuracy}.
   */
  private static void assertTwinsAgree(String name, ElementWise op, float[] x, int from, Accuracy accuracy) {
    float[] expected = x.clone();
    float[] actual = x.clone();
    op.apply(ScalarKernels.INSTANCE, expected, from, x.length);
    op.apply(vector, actual, from, x.length);
    for (int i = 0; i < from; i++) {
      assertEquals(x[i], actual[i], "outside the range, index " + i);
    }
    for (int i = from; i < x.length; i++) {
      assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
          name + "(" + x[i] + "): vector " + actual[i] + ", scalar twin " + expected[i]);
      accuracy.check(x[i], actual[i]);
    }
  }

  /** The probe's summing loop reads every float of a range once, whatever its length and offset. */
  @Test
  void sumFloatsReadsEveryFloatOnce() {
    try (Arena arena = Arena.ofConfined()) {
      int floats = 5000;
      MemorySegment data = arena.allocate(4L * floats, 64);
      for (int i = 0; i < floats; i++) {
        data.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i, 1f + (i % 3));
      }
      for (int from : new int[] {0, 1, 7, 64}) {
        for (int count : new int[] {0, 1, 15, 16, 63, 64, 65, 257, 1000, 4000, 4936}) {
          float expected = 0;
          for (int i = from; i < from + count; i++) {
            expected += 1f + (i % 3);
          }
          assertEquals(expected, vector.sumFloats(data, 4L * from, 4L * count), "from " + from + ", count " + count);
          assertEquals(expected, ScalarKernels.INSTANCE.sumFloats(data, 4L * from, 4L * count),
              "scalar, from " + from + ", count " + count);
        }
      }
    }
  }

  @Test
  void guidedChunksCoverEveryUnitOnceInMultiplesOfFour() {
    for (int threads = 2; threads <= 8; threads++) {
      for (int units = 1; units <= 3000; units += units < 64 ? 1 : 97) {
        int[] bounds = Kernels.guidedBounds(units, threads);
        assertEquals(0, bounds[0]);
        assertEquals(units, bounds[bounds.length - 1], "last bound, units " + units);
        for (int k = 1; k < bounds.length; k++) {
          int size = bounds[k] - bounds[k - 1];
          assertTrue(size > 0, "empty chunk, units " + units);
          if (k < bounds.length - 1) {
            assertEquals(0, size % 4, "chunk " + k + " of units " + units + " is " + size);
          }
          if (k > 1) {
            assertTrue(size <= bounds[k - 1] - bounds[k - 2], "chunks must not grow, units " + units);
          }
        }
        assertTrue(bounds.length - 1 >= Math.min(threads, (units + 3) / 4), "too few chunks for " + units);
      }
    }
  }

  private static void assertClose(float[] expected, float[] actual, float[] w, float[] x,
      int rows, int cols, int tokens, String what) {
    int xOffset = x.length - tokens * cols;
    int outOffset = expected.length - tokens * rows;
    for (int t = 0; t < tokens; t++) {
      for (int r = 0; r < rows; r++) {
        double magnitude = 0;
        for (int c = 0; c < cols; c++) {
          magnitude += Math.abs((double) w[r * cols + c] * x[xOffset + t * cols + c]);
        }
        int i = outOffset + t * rows + r;
        double error = Math.abs((double) expected[i] - actual[i]);
        if (error > TOLERANCE * magnitude + 1e-30) {
          fail(what + ": out[" + t + ", " + r + "] expected " + expected[i] + " got " + actual[i]
              + " (error " + error + ", scale " + magnitude + ")");
        }
      }
    }
  }
}
