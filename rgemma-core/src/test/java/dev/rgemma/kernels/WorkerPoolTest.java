package dev.rgemma.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {
  @Test
  void runsEveryTaskExactlyOnceAcrossManyLoops() {
    WorkerPool pool = new WorkerPool(4);
    try {
      for (int round = 0; round < 200; round++) {
        int tasks = 1 + round % 37;
        AtomicIntegerArray hits = new AtomicIntegerArray(tasks);
        pool.parallelFor(tasks, hits::incrementAndGet);
        for (int i = 0; i < tasks; i++) {
          assertEquals(1, hits.get(i), "round " + round + " task " + i);
        }
      }
    } finally {
      pool.close();
    }
  }

  @Test
  void nestedCallsRunInline() {
    WorkerPool pool = new WorkerPool(2);
    try {
      AtomicIntegerArray hits = new AtomicIntegerArray(16);
      pool.parallelFor(4, i -> pool.parallelFor(4, j -> hits.incrementAndGet(i * 4 + j)));
      for (int i = 0; i < 16; i++) {
        assertEquals(1, hits.get(i));
      }
    } finally {
      pool.close();
    }
  }

  @Test
  void taskFailureReachesTheCaller() {
    WorkerPool pool = new WorkerPool(2);
    try {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> pool.parallelFor(8, i -> {
            if (i == 5) {
              throw new IllegalStateException("task 5");
            }
          }));
      assertEquals("task 5", e.getMessage());
      AtomicIntegerArray hits = new AtomicIntegerArray(3);
      pool.parallelFor(3, hits::incrementAndGet);
      assertEquals(1, hits.get(2), "pool still usable after a failure");
    } finally {
      pool.close();
    }
  }
}
