package dev.rgemma.kernels;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
   * A streaming-read pass over existing memory: the packed matrices of a model, read by all kernel
   * threads in pieces of at most 4 MiB claimed as threads come free, with the same summing loop as
   * {@link #streamingReadBandwidth}. Measured between decode steps, it reads the very memory (its
   * pages, its footprint) that decoding reads, at nearly the same time, so the two rates share the
   * machine's drift (on a VM, up to ±20 % from one minute to the next) and no second buffer is
   * needed beside the weights.
   */
  public static final class Pass {
    private final MemorySegment[] segments;
    private final long[] offsets;
    private final long[] lengths;
    private final long bytes;
    private final float[] sums;
    private int passes;
    private long totalNanos;
    private long bestNanos = Long.MAX_VALUE;

    private Pass(List<MemorySegment> memory) {
      List<MemorySegment> pieceSegments = new ArrayList<>();
      List<long[]> pieces = new ArrayList<>();
      long total = 0;
      for (MemorySegment segment : memory) {
        long size = segment.byteSize() / 4 * 4; // whole floats; at most 3 bytes of a matrix left out
        for (long at = 0; at < size; at += CHUNK) {
          long length = Math.min(CHUNK, size - at);
          pieceSegments.add(segment);
          pieces.add(new long[] {at, length});
          total += length;
        }
      }
      segments = pieceSegments.toArray(MemorySegment[]::new);
      offsets = pieces.stream().mapToLong(p -> p[0]).toArray();
      lengths = pieces.stream().mapToLong(p -> p[1]).toArray();
      bytes = total;
      sums = new float[segments.length];
    }

    /** Bytes one pass reads. */
    public long bytes() {
      return bytes;
    }

    /** Runs one pass; returns its elapsed nanoseconds (also counted by {@link #passes} and the rates). */
    public long run() {
      KernelImpl impl = KernelProvider.selectedForProbe();
      long start = System.nanoTime();
      Kernels.parallelFor(segments.length, i -> sums[i] = impl.sumFloats(segments[i], offsets[i], lengths[i]));
      long elapsed = System.nanoTime() - start; // the sums stay in a field: the JIT keeps the loads
      passes++;
      totalNanos += elapsed;
      bestNanos = Math.min(bestNanos, elapsed);
      return elapsed;
    }

    /** Forgets the passes run so far (e.g. warm-up passes). */
    public void reset() {
      passes = 0;
      totalNanos = 0;
      bestNanos = Long.MAX_VALUE;
    }

    /** Passes run since the last {@link #reset}. */
    public int passes() {
      return passes;
    }

    /** Bytes per second of the fastest pass since the last {@link #reset} (NaN if none). */
    public double bestRate() {
      return passes == 0 ? Double.NaN : bytes / (bestNanos * 1e-9);
    }

    /** Bytes per second over all passes since the last {@link #reset}: total bytes over total time. */
    public double meanRate() {
      return passes == 0 ? Double.NaN : (double) bytes * passes / (totalNanos * 1e-9);
    }

    /** The sum of the memory read as float32 values, as of the last pass (for tests). */
    float total() {
      float total = 0;
      for (float s : sums) {
        total += s;
      }
      return total;
    }
  }

  /** Largest piece of memory one task of a {@link Pass} reads. */
  private static final long CHUNK = 1L << 22;

  /** A {@link Pass} over the memory of {@code matrices}. */
  public static Pass pass(List<PackedMatrix> matrices) {
    List<MemorySegment> memory = new ArrayList<>();
    for (PackedMatrix matrix : matrices) {
      memory.add(matrix.data());
    }
    return new Pass(memory);
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
