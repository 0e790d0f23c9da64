package dev.rgemma.kernels;

import dev.rgemma.tensor.DType;
import java.lang.System.Logger.Level;
import java.util.EnumSet;
import java.util.Set;

/**
 * Warns once when a process packs Q4_0 weights beside BF16, F16 or Q8_0 weights while HotSpot runs
 * with a {@code PerMethodTrapLimit} below {@link #RECOMMENDED} (the default is 100). The Vector API
 * methods that every kernel inlines collect C2 type-check traps from the kernels of each weight
 * type; once a compilation of the Q4_0 decode kernel counts more than the limit among the methods it
 * inlines, C2 stops guarding its type predictions with traps, keeps real calls there, and the
 * vectors that meet those calls are boxed: decoding then ran ~8x slower in most processes that had
 * run prefill products of the other types first (BENCHMARKS.md, stop 24). A model's own weights
 * (one quantized type beside F32) do not trigger it, so neither does this warning; the {@code
 * rgemma} launcher passes the recommended limit.
 */
final class TrapLimitCheck {
  /** The limit the launcher passes and the warning recommends. */
  static final long RECOMMENDED = 100_000;

  private static final System.Logger LOG = System.getLogger("dev.rgemma.kernels");
  private static final Set<DType> PACKED = EnumSet.noneOf(DType.class);
  private static boolean warned;

  private TrapLimitCheck() {}

  /** Notes a packed matrix of {@code type}; logs the warning the first time the risk arises. */
  static void packed(DType type, boolean vectorKernels) {
    synchronized (PACKED) {
      if (!PACKED.add(type) || warned || !vectorKernels || !mixesQ4(PACKED)) {
        return;
      }
      warned = true;
    }
    long limit = currentLimit();
    if (limit >= 0 && limit < RECOMMENDED) {
      LOG.log(Level.WARNING, message(limit));
    }
  }

  /** Whether these packed types include Q4_0 and one of the types whose kernels share its risk. */
  static boolean mixesQ4(Set<DType> types) {
    return types.contains(DType.Q4_0)
        && (types.contains(DType.BF16) || types.contains(DType.F16) || types.contains(DType.Q8_0));
  }

  static String message(long limit) {
    return "rgemma: Q4_0 weights beside BF16/F16/Q8_0 weights in one process, and the JVM runs with"
        + " -XX:PerMethodTrapLimit=" + limit + ": the JIT can then compile the Q4_0 decode kernel with"
        + " boxed vectors (decoding ~8x slower). Start the JVM with -XX:PerMethodTrapLimit=" + RECOMMENDED
        + " (the rgemma launcher does; README, Memory).";
  }

  /** HotSpot's {@code PerMethodTrapLimit}, or -1 where it cannot be read (another JVM). */
  static long currentLimit() {
    try {
      var bean = java.lang.management.ManagementFactory.getPlatformMXBean(
          com.sun.management.HotSpotDiagnosticMXBean.class);
      return bean == null ? -1 : Long.parseLong(bean.getVMOption("PerMethodTrapLimit").getValue());
    } catch (RuntimeException | LinkageError e) {
      return -1;
    }
  }
}
