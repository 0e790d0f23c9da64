package dev.rgemma.kernels;

import java.lang.System.Logger.Level;
import java.util.Locale;

/**
 * Picks the kernel implementation once: the Vector API one unless {@code -Drgemma.kernels=scalar}
 * asks for scalar or the JVM cannot provide it (module {@code jdk.incubator.vector} not added,
 * unsuitable vector size); a fallback is logged with its reason.
 */
final class KernelProvider {
  static final String PROPERTY = "rgemma.kernels";
  private static final System.Logger LOG = System.getLogger("dev.rgemma.kernels");

  private KernelProvider() {}

  static KernelImpl select() {
    String wanted = wanted();
    if (wanted.equals("scalar")) {
      LOG.log(Level.INFO, "rgemma kernels: scalar (forced by -D" + PROPERTY + "=scalar)");
      return ScalarKernels.INSTANCE;
    }
    // Checked here, where a bad value is the caller's error, rather than while the vector
    // kernels' class initializes (a failure there falls back to scalar with a warning).
    TouchAhead.forced();
    KernelImpl vector = tryVector();
    return vector != null ? vector : ScalarKernels.INSTANCE;
  }

  /** The {@code rgemma.kernels} property: "auto", "vector" or "scalar". */
  static String wanted() {
    String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    return switch (wanted) {
      case "auto", "vector", "scalar" -> wanted;
      default -> throw new IllegalArgumentException(
          "-D" + PROPERTY + "=" + wanted + ": expected 'scalar', 'vector' or 'auto'");
    };
  }

  /** The implementation {@link Kernels} uses. */
  static KernelImpl selectedForProbe() {
    return Kernels.impl();
  }

  /** The Vector API implementation, or null (logged) when this JVM cannot run it. */
  static KernelImpl tryVector() {
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      LOG.log(Level.WARNING,
          "rgemma kernels: falling back to scalar (slow): start java with --add-modules jdk.incubator.vector");
      return null;
    }
    try {
      return new VectorKernels();
    } catch (UnsupportedOperationException | LinkageError e) {
      LOG.log(Level.WARNING, "rgemma kernels: falling back to scalar (slow): " + e);
      return null;
    }
  }
}
