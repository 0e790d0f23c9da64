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

  /**
   * An idle pool costs (almost) no CPU: after a loop its workers spin about 2 ms, then park until
   * the next one. (They used to wake every 10 ms and spin another 2 ms: ~20 % of a core each.)
   * Over 500 ms idle, the workers' CPU time must stay far under that (100 ms per worker).
   */
  @Test
  void idleWorkersSleep() throws Exception {
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    org.junit.jupiter.api.Assumptions.assumeTrue(threads.isThreadCpuTimeSupported() && threads.isThreadCpuTimeEnabled(),
        "this JVM does not measure thread CPU time");
    WorkerPool pool = new WorkerPool(3);
    try {
      pool.parallelFor(8, i -> {});
      java.util.List<Long> ids = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().startsWith("rgemma-kernel-")).map(Thread::threadId).toList();
      org.junit.jupiter.api.Assertions.assertFalse(ids.isEmpty());
      Thread.sleep(50); // past the spin after the loop
      long before = ids.stream().mapToLong(threads::getThreadCpuTime).filter(t -> t >= 0).sum();
      Thread.sleep(500);
      long after = ids.stream().mapToLong(threads::getThreadCpuTime).filter(t -> t >= 0).sum();
      long busyMillis = (after - before) / 1_000_000;
      org.junit.jupiter.api.Assertions.assertTrue(busyMillis < 10L * ids.size(),
          ids.size() + " idle workers used " + busyMillis + " ms of CPU in 500 ms");
    } finally {
      pool.close();
    }
  }
}
