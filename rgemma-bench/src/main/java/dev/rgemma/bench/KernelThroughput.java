package dev.rgemma.bench;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;
import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.util.Locale;
import java.util.Random;

/**
 * Quick kernel figures without JMH (seconds instead of minutes), per weight type:
 * decode bytes/s from cache on one thread (is the kernel fast enough to keep up with memory? For
 * Q4_0 the 64-row matrix makes the per-call quantization of the input most of the time),
 * decode bytes/s from DRAM on all threads (a weight set far larger than the caches), and prefill
 * GFLOP/s. Prints one JSON line per type.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp rgemma-bench/target/rgemma-bench.jar \
 *   dev.rgemma.bench.KernelThroughput [threads] [types...]</pre>
 */
public final class KernelThroughput {
  private KernelThroughput() {}

  public static void main(String[] args) {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
    for (DType type : BenchLoops.types(args, 1, DType.values())) {
      Kernels.setThreads(1);
      double cached = decodeBytesPerSecond(type, 64, 2048, 1, 0.5);
      Kernels.setThreads(threads);
      double dram = decodeBytesPerSecond(type, 2560, 7680, 1L << 30, 1.0);
      double prefill = prefillFlops(type, 2560, 2560, 128, 1.0);
      System.out.println(String.format(Locale.ROOT,
          "{\"type\":\"%s\",\"kernels\":\"%s\",\"threads\":%d,\"decode_cached_1t_gb_s\":%.2f,"
              + "\"decode_dram_gb_s\":%.2f,\"prefill_gflop_s\":%.1f}",
          type, Kernels.implementation(), threads, cached / 1e9, dram / 1e9, prefill / 1e9));
    }
  }

  /** Weight bytes per second of tokens = 1 matmuls cycling over at least {@code totalBytes}. */
  static double decodeBytesPerSecond(DType type, int rows, int cols, long totalBytes, double seconds) {
    try (Arena arena = Arena.ofShared()) {
      long matrixBytes = rows * type.byteSize(cols);
      int count = (int) Math.max(1, (totalBytes + matrixBytes - 1) / matrixBytes);
      PackedMatrix[] set = new PackedMatrix[count];
      Random random = new Random(3);
      WeightMatrix stored = MatmulBenchmark.randomWeights(arena, type, rows, cols, random);
      for (int i = 0; i < count; i++) {
        set[i] = Kernels.pack(stored, arena);
      }
      float[] x = BenchLoops.gaussian(random, cols);
      float[] out = new float[rows];
      // Warm-up: every matrix a few times, at least 1.5 s, and then until the rate of one 0.2 s
      // window stops rising by more than 5 % (at most 10 s): on two cores C2's queue can hold the
      // kernel's compile back past 2 s, and a figure taken before it reads C1 or interpreted code.
      long warmStart = System.nanoTime();
      for (int i = 0; i < 3 * count + 200 || System.nanoTime() - warmStart < 1_500_000_000L; i++) {
        Kernels.matmul(set[i % count], x, 0, 1, out, 0);
      }
      double previous = 0;
      while (System.nanoTime() - warmStart < 10_000_000_000L) {
        long calls = 0;
        long start = System.nanoTime();
        while (System.nanoTime() - start < 200_000_000L) {
          Kernels.matmul(set[(int) (calls++ % count)], x, 0, 1, out, 0);
        }
        double rate = calls / ((System.nanoTime() - start) * 1e-9);
        if (rate < previous * 1.05) {
          break;
        }
        previous = rate;
      }
      double best = 0;
      for (int pass = 0; pass < 5; pass++) {
        long calls = 0;
        long start = System.nanoTime();
        long elapsed;
        do {
          Kernels.matmul(set[(int) (calls % count)], x, 0, 1, out, 0);
          calls++;
          elapsed = System.nanoTime() - start;
        } while (elapsed < seconds * 1e9 / 5 || calls < count);
        best = Math.max(best, calls * matrixBytes / (elapsed * 1e-9));
      }
      return best;
    }
  }

  static double prefillFlops(DType type, int rows, int cols, int tokens, double seconds) {
    try (Arena arena = Arena.ofShared()) {
      Random random = new Random(4);
      PackedMatrix w = Kernels.pack(MatmulBenchmark.randomWeights(arena, type, rows, cols, random), arena);
      float[] x = BenchLoops.gaussian(random, tokens * cols);
      float[] out = new float[tokens * rows];
      for (int i = 0; i < 3; i++) {
        Kernels.matmul(w, x, 0, tokens, out, 0);
      }
      return BenchLoops.rate(call -> Kernels.matmul(w, x, 0, tokens, out, 0), 2.0 * rows * cols * tokens,
          (long) (seconds * 1e9));
    }
  }
}
