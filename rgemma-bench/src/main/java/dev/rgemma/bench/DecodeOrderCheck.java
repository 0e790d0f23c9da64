package dev.rgemma.bench;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;
import dev.rgemma.tensor.DType;
import java.lang.foreign.Arena;
import java.util.Locale;
import java.util.Random;

/**
 * The mirror of {@link CompileOrderCheck}: does a decode kernel compile well when prefill products
 * of other types ran first? Runs 64-token products (512 x 2560) of each of {@code prefill types}
 * for one second, then times one-token products of the {@code decode type} over eight 2560 x 7680
 * matrices (DRAM) for three one-second windows and prints them as one JSON line. Run it in several
 * fresh JVMs: a collapse shows as a figure many times below the others.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp rgemma-bench/target/rgemma-bench.jar \
 *   dev.rgemma.bench.DecodeOrderCheck [threads] [decode type] [prefill types...]</pre>
 *
 * Defaults: 2 threads, Q4_0 after BF16, Q8_0, Q4_0 and F16.
 */
public final class DecodeOrderCheck {
  private DecodeOrderCheck() {}

  public static void main(String[] args) {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    DType decodeType = args.length > 1 ? DType.valueOf(args[1]) : DType.Q4_0;
    DType[] prefillTypes = BenchLoops.types(args, 2, DType.BF16, DType.Q8_0, DType.Q4_0, DType.F16);
    Kernels.setThreads(threads);
    Random random = new Random(6);
    try (Arena arena = Arena.ofShared()) {
      int tokens = 64;
      for (DType type : prefillTypes) {
        PackedMatrix w = Kernels.pack(MatmulBenchmark.randomWeights(arena, type, 512, 2560, random), arena);
        float[] x = BenchLoops.gaussian(random, tokens * 2560);
        float[] out = new float[tokens * 512];
        long end = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < end) {
          Kernels.matmul(w, x, 0, tokens, out, 0);
        }
      }
      PackedMatrix[] set = new PackedMatrix[8];
      for (int i = 0; i < set.length; i++) {
        set[i] = Kernels.pack(MatmulBenchmark.randomWeights(arena, decodeType, 2560, 7680, random), arena);
      }
      float[] x = BenchLoops.gaussian(random, 7680);
      float[] out = new float[2560];
      String seconds = BenchLoops.secondWindows(call -> Kernels.matmul(set[(int) (call % set.length)], x, 0, 1, out, 0),
          2560.0 * decodeType.byteSize(7680));
      System.out.println(String.format(Locale.ROOT,
          "{\"decode_type\":\"%s\",\"after_prefill_of\":[%s],\"threads\":%d,\"kernels\":\"%s\","
              + "\"decode_gb_s_per_second\":[%s]}",
          decodeType, BenchLoops.quoted(prefillTypes), threads, Kernels.implementation(), seconds));
    }
  }
}
