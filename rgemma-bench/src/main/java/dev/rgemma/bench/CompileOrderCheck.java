package dev.rgemma.bench;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;
import dev.rgemma.tensor.DType;
import java.lang.foreign.Arena;
import java.util.Locale;
import java.util.Random;

/**
 * Does a prefill kernel compile well when the decode kernels ran first? Runs one-token products
 * of each of {@code decode types} for 1.5 s (as a chat does between prompts), then times the
 * {@code prefill type} product of 128 tokens (2560 x 2560) for three one-second windows and prints
 * them as one JSON line. Whether C2 compiles a kernel well can depend on what ran before it
 * (VectorKernels' class comment): run this in several fresh JVMs and compare the figures; a
 * collapse shows as a figure many times below the others.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp rgemma-bench/target/rgemma-bench.jar \
 *   dev.rgemma.bench.CompileOrderCheck [threads] [prefill type] [decode types...]</pre>
 *
 * Defaults: 2 threads, Q4_0 after Q8_0, BF16 and Q4_0.
 */
public final class CompileOrderCheck {
  private CompileOrderCheck() {}

  public static void main(String[] args) {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    DType prefillType = args.length > 1 ? DType.valueOf(args[1]) : DType.Q4_0;
    DType[] decodeTypes = BenchLoops.types(args, 2, DType.Q8_0, DType.BF16, DType.Q4_0);
    Kernels.setThreads(threads);
    Random random = new Random(5);
    try (Arena arena = Arena.ofShared()) {
      for (DType type : decodeTypes) {
        PackedMatrix w = Kernels.pack(MatmulBenchmark.randomWeights(arena, type, 64, 2048, random), arena);
        float[] x = BenchLoops.gaussian(random, 2048);
        float[] out = new float[64];
        long end = System.nanoTime() + 1_500_000_000L;
        while (System.nanoTime() < end) {
          Kernels.matmul(w, x, 0, 1, out, 0);
        }
      }
      int size = 2560;
      int tokens = 128;
      PackedMatrix w = Kernels.pack(MatmulBenchmark.randomWeights(arena, prefillType, size, size, random), arena);
      float[] x = BenchLoops.gaussian(random, tokens * size);
      float[] out = new float[tokens * size];
      String seconds = BenchLoops.secondWindows(call -> Kernels.matmul(w, x, 0, tokens, out, 0),
          2.0 * size * size * tokens);
      System.out.println(String.format(Locale.ROOT,
          "{\"prefill_type\":\"%s\",\"after_decode_of\":[%s],\"threads\":%d,\"kernels\":\"%s\","
              + "\"prefill_gflop_s_per_second\":[%s]}",
          prefillType, BenchLoops.quoted(decodeTypes), threads, Kernels.implementation(), seconds));
    }
  }
}
