package dev.rgemma.bench;

import dev.rgemma.tensor.DType;
import java.util.Locale;
import java.util.Random;
import java.util.function.LongConsumer;

/** Timing loops and argument helpers shared by the quick checks ({@link KernelThroughput} and the order checks). */
final class BenchLoops {
  private BenchLoops() {}

  /**
   * Calls {@code call.accept(i)} for i = 0, 1, ... until {@code nanos} have passed (at least once)
   * and returns {@code unitsPerCall} times the calls per second.
   */
  static double rate(LongConsumer call, double unitsPerCall, long nanos) {
    long calls = 0;
    long start = System.nanoTime();
    long elapsed;
    do {
      call.accept(calls);
      calls++;
      elapsed = System.nanoTime() - start;
    } while (elapsed < nanos);
    return unitsPerCall * calls / (elapsed * 1e-9);
  }

  /** Three one-second windows of {@link #rate}, in billions of units per second, as "a,b,c". */
  static String secondWindows(LongConsumer call, double unitsPerCall) {
    StringBuilder seconds = new StringBuilder();
    for (int s = 0; s < 3; s++) {
      seconds.append(s == 0 ? "" : ",")
          .append(String.format(Locale.ROOT, "%.1f", rate(call, unitsPerCall, 1_000_000_000L) / 1e9));
    }
    return seconds.toString();
  }

  /** The weight types named in {@code args[from ..]}, or {@code defaults} when there are none. */
  static DType[] types(String[] args, int from, DType... defaults) {
    if (args.length <= from) {
      return defaults;
    }
    DType[] types = new DType[args.length - from];
    for (int i = from; i < args.length; i++) {
      types[i - from] = DType.valueOf(args[i]);
    }
    return types;
  }

  /** The types as the items of a JSON array: {@code "Q8_0","BF16"}. */
  static String quoted(DType[] types) {
    StringBuilder list = new StringBuilder();
    for (DType type : types) {
      list.append(list.isEmpty() ? "" : ",").append('"').append(type).append('"');
    }
    return list.toString();
  }

  /** {@code n} seeded Gaussian values. */
  static float[] gaussian(Random random, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) random.nextGaussian();
    }
    return x;
  }
}
