package dev.rgemma.kernels;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Measures what bounds the kernels on this machine: streaming-read bandwidth from DRAM (a buffer
 * far larger than the last-level cache, read by all kernel threads) and fused multiply-add
 * throughput (independent FMA chains in registers, with the kernels' vector width, on all
 * threads). Uses {@link Kernels}' pool and implementation, so the figures are what the kernels can
 * reach.
 */
public final class MachineProbe {
  private MachineProbe() {}

  /**
   * @param readBytesPerSecond best streaming-read rate over the passes
   * @param fmaFlopsPerSecond floating-point operations per second (an FMA counts as two)
   */
  public record Result(
      int threads, String kernels, long bufferBytes, double readBytesPerSecond,
      double fmaFlopsPerSecond) {
    /** One JSON object, e.g. for benchmark output. */
    public String toJson() {
      return String.format(Locale.ROOT,
          "{\"threads\":%d,\"kernels\":\"%s\",\"buffer_bytes\":%d,\"read_gb_s\":%.2f,\"fma_gflop_s\":%.1f}",
          threads, kernels, bufferBytes, readBytesPerSecond / 1e9, fmaFlopsPerSecond / 1e9);
    }
  }

  /** Both measurements with the default buffer size ({@link #defaultBufferBytes()}). */
  public static Result measure() {
    return measure(defaultBufferBytes());
  }

  /**
   * Both measurements, streaming from a buffer of {@code bufferBytes} (rounded down to 4 MiB, at
   * least 4 MiB). On a virtual machine the streaming rate falls as the footprint grows well past
   * the last-level cache (nested page tables; on this project's VM 28 GB/s at 1 GiB, 25 at 4 GiB,
   * 21 at 8 GiB), so a benchmark streaming N bytes per step compares itself with a buffer of N.
   */
  public static Result measure(long bufferBytes) {
    return new Result(Kernels.threads(), Kernels.implementation(), bufferBytes,
        streamingReadBandwidth(bufferBytes, 5), fmaThroughput(0.5));
  }

  /** Four times the last-level cache reported by Linux, at least 1 GiB. */
  public static long defaultBufferBytes() {
    long lastLevel = 0;
    for (int index = 0; index < 8; index++) {
      Path size = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + index + "/size");
      try {
        if (Files.isReadable(size)) {
          lastLevel = Math.max(lastLevel, parseCacheSize(Files.readString(size).trim()));
        }
      } catch (IOException | NumberFormatException e) {
        // Unknown cache size: the 1 GiB floor applies.
      }
    }
    return Math.max(1L << 30, 4 * lastLevel) / 4096 * 4096;
  }

  static long parseCacheSize(String text) {
    long unit = 1;
    char last = Character.toUpperCase(text.charAt(text.length() - 1));
    if (last == 'K') {
      unit = 1024;
    } else if (last == 'M') {
      unit = 1024 * 1024;
    } else if (last == 'G') {
      unit = 1024L * 1024 * 1024;
    }
    String digits = unit == 1 ? text : text.substring(0, text.length() - 1);
    return Long.parseLong(digits.trim()) * unit;
  }

  /**
   * Bytes per second read from a fresh off-heap buffer of {@code bytes} bytes by all kernel
   * threads; the best of {@code passes} passes (after one warm-up pass that also faults the pages
   * in). The buffer is freed before returning.
   */
  public static double streamingReadBandwidth(long bytes, int passes) {
    long chunk = 1L << 22;
    long size = Math.max(chunk, bytes / chunk * chunk);
    int chunks = Math.toIntExact(size / chunk);
    KernelImpl impl = KernelProvider.selectedForProbe();
    float[] sink = new float[chunks];
    double best = 0;
    try (Arena arena = Arena.ofShared()) {
      MemorySegment buffer = LargePages.allocate(size, arena); // as the packed weights are
      buffer.fill((byte) 1);
      for (int pass = 0; pass <= passes; pass++) {
        long start = System.nanoTime();
        Kernels.parallelFor(chunks, i -> sink[i] = impl.sumFloats(buffer, i * chunk, chunk));
        long elapsed = System.nanoTime() - start;
        if (pass > 0) {
          best = Math.max(best, size / (elapsed * 1e-9));
        }
      }
    }
    float total = 0;
    for (float s : sink) {
      total += s;
    }
    if (Float.isNaN(total)) {
      throw new AssertionError("unreachable: keeps the sums alive");
    }
    return best;
  }

  /**
   * FLOP/s of independent FMA chains on all kernel threads, measured over about {@code seconds}.
   * The work is split into four tasks per thread, claimed as threads come free, so a thread that
   * starts late (a parked worker, a descheduled virtual CPU) costs a pass only its delay, not a
   * whole share run after the others; the best of five passes is kept.
   */
  public static double fmaThroughput(double seconds) {
    KernelImpl impl = KernelProvider.selectedForProbe();
    int threads = Kernels.threads();
    int tasks = 4 * threads;
    float[] sink = new float[tasks];
    // Warm up until the JIT has compiled the chains (a pass timed before that reads ~100x low).
    long warmUntil = System.nanoTime() + (long) (0.3e9);
    while (System.nanoTime() < warmUntil) {
      Kernels.parallelFor(tasks, i -> sink[i] = impl.fmaChains(1 << 12, i));
    }
    // Size the passes.
    long iterations = 1 << 12;
    long elapsed;
    do {
      iterations *= 2;
      long n = iterations;
      long start = System.nanoTime();
      Kernels.parallelFor(tasks, i -> sink[i] = impl.fmaChains(n, i));
      elapsed = System.nanoTime() - start;
    } while (elapsed < seconds * 0.2e9);
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
      long n = iterations;
      int seed = pass;
      long start = System.nanoTime();
      Kernels.parallelFor(tasks, i -> sink[i] = impl.fmaChains(n, i + seed));
      elapsed = System.nanoTime() - start;
      best = Math.max(best, (double) n * impl.fmaFlopsPerIteration() * tasks / (elapsed * 1e-9));
    }
    if (Float.isNaN(sink[0])) {
      throw new AssertionError("unreachable: keeps the chains alive");
    }
    return best;
  }

  /** Prints the measurements as one JSON line. Arguments: [threads]. */
  public static void main(String[] args) {
    if (args.length > 0) {
      Kernels.setThreads(Integer.parseInt(args[0]));
    }
    System.out.println(measure().toJson());
  }
}
