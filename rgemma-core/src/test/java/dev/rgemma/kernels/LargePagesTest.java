package dev.rgemma.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Off-heap allocation for packed weights (huge pages on Linux, else the arena's allocator). */
class LargePagesTest {
  @Test
  void largeAllocationsAreZeroedWritableAndFreedWithTheArena() {
    long bytes = (9L << 20) + 12345;
    MemorySegment segment;
    try (Arena arena = Arena.ofShared()) {
      segment = LargePages.allocate(bytes, arena);
      assertEquals(bytes, segment.byteSize());
      assertEquals(0, segment.address() % 64, "aligned for vector loads");
      for (long i = 0; i < bytes; i += 4093) {
        assertEquals(0, segment.get(ValueLayout.JAVA_BYTE, i));
      }
      segment.set(ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8, 0x1234_5678_9abc_def0L);
      assertEquals(0x1234_5678_9abc_def0L, segment.get(ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8));
    }
    MemorySegment closed = segment;
    assertThrows(IllegalStateException.class, () -> closed.get(ValueLayout.JAVA_BYTE, 0));
  }

  @Test
  void smallAllocationsWork() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment segment = LargePages.allocate(100, arena);
      assertEquals(100, segment.byteSize());
      assertEquals(0, segment.get(ValueLayout.JAVA_BYTE, 99));
    }
  }

  @Test
  void smallAllocationsShareChunksWithoutOverlapping() {
    long piece = 300_000; // 27 of these need more than one chunk
    int count = (int) (LargePages.CHUNK / piece) + 5;
    MemorySegment[] pieces = new MemorySegment[count];
    MemorySegment other;
    try (Arena arena = Arena.ofShared(); Arena second = Arena.ofConfined()) {
      for (int i = 0; i < count; i++) {
        pieces[i] = LargePages.allocate(piece, arena);
        assertEquals(piece, pieces[i].byteSize());
        assertEquals(0, pieces[i].address() % 64, "aligned for vector loads");
        assertEquals(0, pieces[i].get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(0, pieces[i].get(ValueLayout.JAVA_BYTE, piece - 1));
        pieces[i].fill((byte) (i + 1));
      }
      other = LargePages.allocate(piece, second);
      other.fill((byte) -1);
      for (int i = 0; i < count; i++) {
        assertEquals((byte) (i + 1), pieces[i].get(ValueLayout.JAVA_BYTE, 0), "piece " + i);
        assertEquals((byte) (i + 1), pieces[i].get(ValueLayout.JAVA_BYTE, piece - 1), "piece " + i);
      }
    }
    MemorySegment closed = pieces[count - 1];
    assertThrows(IllegalStateException.class, () -> closed.get(ValueLayout.JAVA_BYTE, 0));
    MemorySegment closedOther = other;
    assertThrows(IllegalStateException.class, () -> closedOther.get(ValueLayout.JAVA_BYTE, 0));
  }

  /** Attention's per-chunk copies: packed into the arena's own memory, the same bytes as pack. */
  @Test
  void temporaryPackingGivesTheSameLayout() {
    Random random = new Random(9);
    WeightMatrix w = PackedKernelsTest.randomMatrix(DType.F32, 600, 256, random);
    MemorySegment temporaryData;
    try (Arena arena = Arena.ofShared()) {
      PackedMatrix resident = Kernels.pack(w, arena);
      PackedMatrix temporary = Kernels.packTemporary(w, arena);
      assertEquals(resident.data().byteSize(), temporary.data().byteSize());
      assertEquals(-1, resident.data().mismatch(temporary.data()));
      temporaryData = temporary.data();
    }
    MemorySegment closed = temporaryData;
    assertThrows(IllegalStateException.class, () -> closed.get(ValueLayout.JAVA_BYTE, 0));
  }

  /** A matrix large enough for the huge-page path packs to the same rows. */
  @Test
  void largePackedMatrixKeepsEveryRow() {
    Random random = new Random(5);
    int rows = 1030;
    int cols = 2304;
    WeightMatrix w = PackedKernelsTest.randomMatrix(DType.BF16, rows, cols, random);
    try (Arena arena = Arena.ofShared()) {
      PackedMatrix p = Kernels.pack(w, arena);
      float[] expected = new float[cols];
      float[] actual = new float[cols];
      for (int r = 0; r < rows; r += 97) {
        ScalarKernels.INSTANCE.readRow(w, r, expected, 0);
        Kernels.readRow(p, r, actual, 0);
        for (int c = 0; c < cols; c++) {
          assertEquals(Float.floatToIntBits(expected[c]), Float.floatToIntBits(actual[c]), "row " + r + " col " + c);
        }
      }
    }
  }
}
