package dev.rgemma.bench;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.tensor.DType;
import java.util.Locale;

/**
 * Decode (one token) weight bytes per second from DRAM for given matrix shapes: each shape cycles
 * over copies of one seeded random matrix totalling 2 GiB (far beyond the caches), best of five
 * passes after a JIT warm-up, twice in a row (the development VM drifts by several per cent). For
 * comparing weight types and shapes with each other and with the machine probe, in seconds.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp rgemma-bench/target/rgemma-bench.jar dev.rgemma.bench.DecodeShapes TYPE THREADS ROWS COLS [ROWS COLS ...]</pre>
 */
public final class DecodeShapes {
  private DecodeShapes() {}

  public static void main(String[] args) {
    if (args.length < 4 || args.length % 2 != 0) {
      System.err.println("usage: DecodeShapes TYPE THREADS ROWS COLS [ROWS COLS ...]");
      System.exit(2);
    }
    DType type = DType.valueOf(args[0].toUpperCase(Locale.ROOT));
    int threads = Integer.parseInt(args[1]);
    Kernels.setThreads(threads);
    for (int round = 0; round < 2; round++) {
      for (int i = 2; i + 1 < args.length; i += 2) {
        int rows = Integer.parseInt(args[i]);
        int cols = Integer.parseInt(args[i + 1]);
        double bytesPerSecond = KernelThroughput.decodeBytesPerSecond(type, rows, cols, 2L << 30, 2.0);
        System.out.println(String.format(Locale.ROOT,
            "{\"type\":\"%s\",\"threads\":%d,\"rows\":%d,\"cols\":%d,\"decode_dram_gb_s\":%.2f}",
            type, threads, rows, cols, bytesPerSecond / 1e9));
      }
    }
  }
}
