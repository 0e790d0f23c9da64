package dev.rgemma.bench;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;
import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.Quantize;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link Kernels#matmul} per weight type and layout ({@code packed}: the model's {@link
 * PackedMatrix}; {@code rows}: a row-major {@link WeightMatrix}, as attention uses for its caches):
 * decode ({@code tokens = 1}) and prefill chunks, on the shapes of RecurrentGemma-2B's linear layers. Bytes per second = weight bytes / time (for decode)
 * and FLOP/s = 2 rows cols tokens / time follow from the reported time per call.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar rgemma-bench/target/rgemma-bench.jar Matmul</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Benchmark)
public class MatmulBenchmark {
  @Param({"F32", "BF16", "F16", "Q8_0", "Q4_0"})
  public String type;

  /** rows x cols: 2B's square projections and its MLP down projection. */
  @Param({"2560x2560", "2560x7680"})
  public String shape;

  @Param({"1", "64"})
  public int tokens;

  @Param({"packed", "rows"})
  public String layout;

  /** Kernel threads; 0 = all processors. */
  @Param({"0"})
  public int threads;

  private Arena arena;
  private WeightMatrix weights;
  private PackedMatrix packed;
  private float[] x;
  private float[] out;

  @Setup(Level.Trial)
  public void setUp() {
    if (threads > 0) {
      Kernels.setThreads(threads);
    }
    String[] dims = shape.split("x");
    int rows = Integer.parseInt(dims[0]);
    int cols = Integer.parseInt(dims[1]);
    DType dtype = DType.valueOf(type);
    arena = Arena.ofShared();
    weights = randomWeights(arena, dtype, rows, cols, new Random(1));
    packed = Kernels.pack(weights, arena);
    x = new float[tokens * cols];
    Random random = new Random(2);
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian();
    }
    out = new float[tokens * rows];
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    arena.close();
  }

  @Benchmark
  public float[] matmul() {
    if (layout.equals("packed")) {
      Kernels.matmul(packed, x, 0, tokens, out, 0);
    } else {
      Kernels.matmul(weights, x, 0, tokens, out, 0);
    }
    return out;
  }

  /** Seeded uniform weights quantized row by row into off-heap memory. */
  static WeightMatrix randomWeights(Arena arena, DType type, int rows, int cols, Random random) {
    long rowBytes = type.byteSize(cols);
    MemorySegment data = arena.allocate(rows * rowBytes, 64);
    long seed = random.nextLong();
    java.util.stream.IntStream.range(0, rows).parallel().forEach(r -> {
      java.util.SplittableRandom rowRandom = new java.util.SplittableRandom(seed + r);
      float[] row = new float[cols];
      for (int c = 0; c < cols; c++) {
        row[c] = (float) (rowRandom.nextDouble() - 0.5) * 0.04f;
      }
      Quantize.quantize(type, row, 0, cols, data, r * rowBytes);
    });
    return new WeightMatrix("bench", type, rows, cols, data);
  }
}
