package dev.rgemma.kernels;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.tensor.DType;
import java.lang.management.ManagementFactory;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

class TrapLimitCheckTest {
  @Test
  void onlyQ4BesideAnotherReducedPrecisionTypeIsAtRisk() {
    assertFalse(TrapLimitCheck.mixesQ4(EnumSet.of(DType.Q4_0, DType.F32)), "a Q4_0 model's own types");
    assertFalse(TrapLimitCheck.mixesQ4(EnumSet.of(DType.BF16, DType.Q8_0, DType.F16, DType.F32)), "no Q4_0");
    for (DType other : new DType[] {DType.BF16, DType.F16, DType.Q8_0}) {
      assertTrue(TrapLimitCheck.mixesQ4(EnumSet.of(DType.Q4_0, DType.F32, other)), other.toString());
    }
  }

  @Test
  void readsTheLimitThisJvmRunsWith() {
    // Surefire starts the tests' JVM without the flag unless the arguments name it.
    String flag = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("-XX:PerMethodTrapLimit=")).reduce((a, b) -> b).orElse(null);
    long expected = flag == null ? 100 : Long.parseLong(flag.substring(flag.indexOf('=') + 1));
    org.junit.jupiter.api.Assertions.assertEquals(expected, TrapLimitCheck.currentLimit());
  }

  @Test
  void theWarningNamesTheFlagAndTheLimitInForce() {
    String message = TrapLimitCheck.message(100);
    assertTrue(message.contains("-XX:PerMethodTrapLimit=100:"), message);
    assertTrue(message.contains("-XX:PerMethodTrapLimit=" + TrapLimitCheck.RECOMMENDED), message);
  }
}
