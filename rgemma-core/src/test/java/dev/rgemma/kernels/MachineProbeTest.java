package dev.rgemma.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bandwidth probe's pass over existing memory (what {@code rgemma bench} reads between decode blocks). */
class MachineProbeTest {
  /** An F32 matrix of ones, packed (its padding rows are zeros). */
  private static PackedMatrix ones(int rows, int cols, Arena arena) {
    MemorySegment data = arena.allocate(4L * rows * cols, 64);
    for (long i = 0; i < (long) rows * cols; i++) {
      data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, 1f);
    }
    return Kernels.pack(new WeightMatrix("ones", DType.F32, rows, cols, data), arena);
  }

  @Test
  void aPassReadsEveryByteOfEveryMatrixOnce() {
    try (Arena arena = Arena.ofShared()) {
      // One matrix spans several 4 MiB pieces (4.4 MB), the others are small and of awkward shapes
      // (cut from a shared huge-page chunk); every sum stays exact in float32 (below 2^24).
      List<PackedMatrix> matrices = new ArrayList<>(List.of(ones(1100, 1000, arena), ones(37, 33, arena),
          ones(5, 1001, arena), ones(130, 70, arena)));
      MachineProbe.Pass pass = MachineProbe.pass(matrices);
      long bytes = matrices.stream().mapToLong(PackedMatrix::byteSize).sum();
      assertEquals(bytes, pass.bytes());
      long nanos = pass.run();
      assertTrue(nanos > 0, "elapsed " + nanos);
      assertEquals(1100 * 1000 + 37 * 33 + 5 * 1001 + 130 * 70, pass.total(), "sum of the ones read");
      // A second pass reads the same again (no state carried over).
      pass.run();
      assertEquals(1100 * 1000 + 37 * 33 + 5 * 1001 + 130 * 70, pass.total());
      assertEquals(2, pass.passes());
      assertTrue(pass.bestRate() >= pass.meanRate() && pass.meanRate() > 0, pass.bestRate() + " vs " + pass.meanRate());
      pass.reset();
      assertEquals(0, pass.passes());
      assertTrue(Double.isNaN(pass.bestRate()) && Double.isNaN(pass.meanRate()));
    }
  }

  @Test
  void anEmptyPassReadsNothing() {
    MachineProbe.Pass pass = MachineProbe.pass(List.of());
    assertEquals(0, pass.bytes());
    pass.run();
    assertEquals(0f, pass.total());
  }
}
