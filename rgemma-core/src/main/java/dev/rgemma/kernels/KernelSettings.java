package dev.rgemma.kernels;

/**
 * The system properties that choose how the kernels run ({@code rgemma.kernels}, {@code
 * rgemma.touchAhead}), checkable before anything uses the kernels: a bad value otherwise surfaces
 * as an {@link ExceptionInInitializerError} of {@link Kernels} on first use.
 */
public final class KernelSettings {
  private KernelSettings() {}

  /**
   * Checks the properties' values without starting the kernels.
   *
   * @throws IllegalArgumentException naming the property, its value and the values expected
   */
  public static void validate() {
    KernelProvider.wanted();
    TouchAhead.forced();
  }
}
