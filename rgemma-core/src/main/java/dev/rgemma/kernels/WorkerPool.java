package dev.rgemma.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A fixed set of long-lived daemon threads that run the tasks of one parallel loop at a time; the
 * calling thread takes part. Tasks are claimed from a shared counter, so a core that is busy with
 * something else simply claims fewer. Workers spin briefly between loops (a model's matmuls come in
 * quick succession) and then park, so an idle engine costs no CPU.
 */
final class WorkerPool {
  /**
   * About 2 milliseconds of spinning before a worker parks. Decoding runs ~220 loops per token with
   * stretches of caller-only work between them (norms, the convolution, small loops); with 50
   * microseconds a worker parked before about a third of them and each loop then waited for its
   * wake-up (2B Q4_0: ~70 parks per token and 4-8 % slower decode than with 2 ms, back to back).
   */
  private static final long SPIN_NANOS = 2_000_000;

  private final Thread[] workers;
  private final ReentrantLock callerLock = new ReentrantLock();
  private volatile Loop loop;
  private volatile boolean closed;

  private static final class Loop {
    final int tasks;
    final IntConsumer body;
    final AtomicInteger next = new AtomicInteger();
    final AtomicInteger done = new AtomicInteger();
    volatile Throwable failure;

    Loop(int tasks, IntConsumer body) {
      this.tasks = tasks;
      this.body = body;
    }

    /** Claims and runs tasks until none are left. */
    void work() {
      int task;
      while ((task = next.getAndIncrement()) < tasks) {
        try {
          body.accept(task);
        } catch (Throwable t) {
          failure = t;
        } finally {
          done.incrementAndGet();
        }
      }
    }
  }

  WorkerPool(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    workers = new Thread[threads - 1];
    for (int i = 0; i < workers.length; i++) {
      workers[i] = Thread.ofPlatform().daemon().name("rgemma-kernel-" + (i + 1)).unstarted(this::workerLoop);
      workers[i].start();
    }
  }

  int threads() {
    return workers.length + 1;
  }

  /**
   * Runs {@code body.accept(i)} for every {@code i < tasks} on the pool and returns when all have
   * finished. Nested or concurrent calls run on the caller's thread alone.
   */
  void parallelFor(int tasks, IntConsumer body) {
    if (tasks <= 0) {
      return;
    }
    if (tasks == 1 || workers.length == 0 || closed || isWorker() || callerLock.isHeldByCurrentThread()
        || !callerLock.tryLock()) {
      for (int i = 0; i < tasks; i++) {
        body.accept(i);
      }
      return;
    }
    try {
      Loop current = new Loop(tasks, body);
      loop = current;
      for (Thread worker : workers) {
        LockSupport.unpark(worker);
      }
      current.work();
      while (current.done.get() < tasks) {
        Thread.onSpinWait();
      }
      loop = null;
      Throwable failure = current.failure;
      if (failure instanceof RuntimeException e) {
        throw e;
      } else if (failure instanceof Error e) {
        throw e;
      } else if (failure != null) {
        throw new IllegalStateException(failure);
      }
    } finally {
      callerLock.unlock();
    }
  }

  private boolean isWorker() {
    Thread current = Thread.currentThread();
    for (Thread worker : workers) {
      if (worker == current) {
        return true;
      }
    }
    return false;
  }

  /** Stops the workers once their current loop is done. */
  void close() {
    closed = true;
    for (Thread worker : workers) {
      LockSupport.unpark(worker);
    }
  }

  /**
   * Runs loops as they come: after each one the worker spins up to {@link #SPIN_NANOS} for the
   * next, then parks until {@link #parallelFor} or {@link #close} unparks it (the loop is published
   * before the unpark, so a worker that misses it still finds the permit). It spins once per loop
   * run, not again after each park: with a 10 ms park and a spin after every wake-up, an idle
   * engine (a server between requests) kept a core 12-19 % busy.
   */
  private void workerLoop() {
    Loop last = null;
    boolean spun = false;
    while (!closed) {
      Loop current = loop;
      if (current != null && current != last) {
        current.work();
        last = current;
        spun = false;
        continue;
      }
      if (!spun) {
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        while (loop == current && !closed && System.nanoTime() < spinUntil) {
          Thread.onSpinWait();
        }
        spun = true;
      } else if (loop == current && !closed) {
        LockSupport.parkNanos(this, IDLE_PARK_NANOS);
      }
    }
  }

  /** Longest park of an idle worker; unparks end it sooner (a safety net, not a poll). */
  private static final long IDLE_PARK_NANOS = 1_000_000_000L;
}
