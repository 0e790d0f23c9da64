package dev.rgemma.kernels;

import dev.rgemma.tensor.WeightMatrix;
import java.util.Objects;

/**
 * The public facade of rgemma's compute kernels. Checks arguments, then dispatches to the
 * implementation chosen once at start-up (the Vector API one where the JVM offers it, else the
 * scalar one; {@code -Drgemma.kernels=scalar} forces scalar) and spreads rows over a long-lived
 * thread pool ({@link #setThreads}). Kernels know nothing about the model.
 */
public final class Kernels {
  private Kernels() {}

  /** Below this many multiply-adds a call runs on the caller's thread: handing off costs more. */
  private static final long PARALLEL_THRESHOLD = 1 << 15;

  private static final KernelImpl IMPL = KernelProvider.select();
  private static volatile WorkerPool pool = new WorkerPool(Runtime.getRuntime().availableProcessors());

  static KernelImpl impl() {
    return IMPL;
  }

  /** The implementation in use, e.g. {@code "vector 512-bit"} or {@code "scalar"}. */
  public static String implementation() {
    return IMPL.name();
  }

  /**
   * Whether the float decode loops touch the weights ahead of their loads (on by default on Intel
   * processors only; {@code -Drgemma.touchAhead=on|off} decides). Changes speed, never results.
   */
  public static boolean touchesAhead() {
    return IMPL.touchesAhead();
  }

  /** Sets the number of threads (including the caller's) that run each kernel call. */
  public static synchronized void setThreads(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    if (threads != pool.threads()) {
      WorkerPool old = pool;
      pool = new WorkerPool(threads);
      old.close();
    }
  }

  /** The number of threads each kernel call uses. */
  public static int threads() {
    return pool.threads();
  }

  /**
   * {@code out[t, r] = sum_c w[r, c] * x[t, c]} for {@code t < tokens}: x is {@code [tokens,
   * w.cols]} starting at {@code xOffset}, out is {@code [tokens, w.rows]} starting at {@code
   * outOffset}. For {@code tokens > 1} every weight is read from memory once per call.
   */
  public static void matmul(
      WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset) {
    matmul(IMPL, pool, w, x, xOffset, tokens, out, outOffset);
  }

  /** {@link #matmul} on a given implementation and pool: lets tests run both side by side. */
  static void matmul(
      KernelImpl impl, WorkerPool workers, WeightMatrix w, float[] x, int xOffset, int tokens,
      float[] out, int outOffset) {
    Objects.requireNonNull(w);
    checkProduct(w.rows(), w.cols(), x, xOffset, tokens, out, outOffset);
    // Units of rows; at least 8 rows to split.
    split(workers, w.rows(), 8, (long) w.rows() * w.cols() * tokens,
        (start, end) -> impl.matmulRows(w, x, xOffset, tokens, out, outOffset, start, end));
  }

  /**
   * Repacks {@code w} into the layout the kernels read fastest ({@link PackedMatrix}), in memory
   * owned by {@code arena}; {@code w} itself is only read.
   */
  public static PackedMatrix pack(WeightMatrix w, java.lang.foreign.Arena arena) {
    Objects.requireNonNull(w);
    Objects.requireNonNull(arena);
    TrapLimitCheck.packed(w.dtype(), IMPL != ScalarKernels.INSTANCE);
    return Packing.pack(w, IMPL.groupRows(), arena, pool);
  }

  /**
   * As {@link #pack}, for a matrix used only briefly (attention's per-chunk copies of keys and
   * values): in the arena's own memory, without the huge-page mapping that weights get.
   */
  public static PackedMatrix packTemporary(WeightMatrix w, java.lang.foreign.Arena arena) {
    Objects.requireNonNull(w);
    Objects.requireNonNull(arena);
    return Packing.pack(w, IMPL.groupRows(), arena, pool, true);
  }

  /**
   * {@code out[t, r] = sum_c w[r, c] * x[t, c]} for {@code t < tokens}, as {@link
   * #matmul(WeightMatrix, float[], int, int, float[], int)} but over a packed matrix; each output
   * is a fused multiply-add chain over the columns in order, so it is the same bit for bit whatever
   * the number of tokens, the threads or the implementation.
   */
  public static void matmul(
      PackedMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset) {
    matmul(IMPL, pool, w, x, xOffset, tokens, out, outOffset);
  }

  static void matmul(
      KernelImpl impl, WorkerPool workers, PackedMatrix w, float[] x, int xOffset, int tokens,
      float[] out, int outOffset) {
    Objects.requireNonNull(w);
    checkProduct(w.rows(), w.cols(), x, xOffset, tokens, out, outOffset);
    if (w.dtype() == dev.rgemma.tensor.DType.Q4_0) {
      // Quantized once per call, shared by every thread.
      Q8Activations a = impl.quantize(x, xOffset, tokens, w.cols());
      split(workers, w.groups(), 4, (long) w.rows() * w.cols() * tokens,
          (start, end) -> impl.matmulQ4(w, a, out, outOffset, start, end));
      return;
    }
    // Units of row groups; at least 4 groups to split.
    float[] tiles = tokens > 1 && impl.tokenTile() > 0 ? tiles(impl, workers, x, xOffset, tokens, w.cols()) : null;
    split(workers, w.groups(), 4, (long) w.rows() * w.cols() * tokens,
        (start, end) -> impl.matmulPacked(w, x, xOffset, tiles, tokens, out, outOffset, start, end));
  }

  /**
   * One token through several packed matrices in a single split over the threads: {@code
   * out[outOffsets[i] + r] = sum_c ws[i][r, c] * x[xOffsets[i] + c]} for every matrix i and row r,
   * each output as {@link #matmul(PackedMatrix, float[], int, int, float[], int)} computes it.
   * Meant for products that share a step (the recurrent blocks' per-head gates, the MLP's gate and
   * up): one hand-off and one split tail instead of one per matrix. Q4_0 matrices read the input
   * quantized once per distinct input range, as {@link #matmul} does.
   */
  public static void matmulEach(PackedMatrix[] ws, float[] x, int[] xOffsets, float[] out, int[] outOffsets) {
    if (ws.length != xOffsets.length || ws.length != outOffsets.length) {
      throw new IllegalArgumentException(
          ws.length + " matrices, " + xOffsets.length + " input offsets, " + outOffsets.length + " output offsets");
    }
    int[] firstUnit = new int[ws.length + 1];
    // Q4_0 matrices read their input quantized (as matmul does), once per distinct input range.
    Q8Activations[] quantized = new Q8Activations[ws.length];
    long work = 0;
    for (int i = 0; i < ws.length; i++) {
      checkProduct(ws[i].rows(), ws[i].cols(), x, xOffsets[i], 1, out, outOffsets[i]);
      if (ws[i].dtype() == dev.rgemma.tensor.DType.Q4_0) {
        for (int j = 0; j < i && quantized[i] == null; j++) {
          if (quantized[j] != null && xOffsets[j] == xOffsets[i] && ws[j].cols() == ws[i].cols()) {
            quantized[i] = quantized[j];
          }
        }
        if (quantized[i] == null) {
          quantized[i] = IMPL.quantize(x, xOffsets[i], 1, ws[i].cols());
        }
      }
      firstUnit[i + 1] = firstUnit[i] + ws[i].groups();
      work += (long) ws[i].rows() * ws[i].cols();
    }
    split(pool, firstUnit[ws.length], 4, work, (start, end) -> {
      for (int i = 0; i < ws.length; i++) {
        int from = Math.max(start, firstUnit[i]);
        int to = Math.min(end, firstUnit[i + 1]);
        if (from < to) {
          if (quantized[i] != null) {
            IMPL.matmulQ4(ws[i], quantized[i], out, outOffsets[i], from - firstUnit[i], to - firstUnit[i]);
          } else {
            IMPL.matmulPacked(ws[i], x, xOffsets[i], 1, out, outOffsets[i], from - firstUnit[i], to - firstUnit[i]);
          }
        }
      }
    });
  }

  /** The caller's buffer for arranged tokens (the pool's threads read it while the caller waits). */
  private static final ThreadLocal<float[]> TILES = ThreadLocal.withInitial(() -> new float[0]);

  /** The tokens arranged once for all threads ({@link KernelImpl#tileTokens}), in parallel. */
  private static float[] tiles(KernelImpl impl, WorkerPool workers, float[] x, int xOffset, int tokens, int cols) {
    float[] tiles = TILES.get();
    if (tiles.length < tokens * cols) {
      tiles = new float[tokens * cols];
      TILES.set(tiles);
    }
    float[] buffer = tiles;
    int count = (tokens + impl.tokenTile() - 1) / impl.tokenTile();
    int tasks = (long) tokens * cols < PARALLEL_THRESHOLD ? 1 : Math.min(count, workers.threads());
    if (tasks == 1) {
      impl.tileTokens(x, xOffset, tokens, cols, 0, count, buffer);
    } else {
      workers.parallelFor(tasks, task -> impl.tileTokens(
          x, xOffset, tokens, cols, task * count / tasks, (task + 1) * count / tasks, buffer));
    }
    return buffer;
  }

  /**
   * {@code out[outOffset + t * rows + r] = sum_c m[mOffset + r * rowStride + c] * x[xOffset + t *
   * cols + c]} for {@code r < rows}, {@code t < tokens}: a row-major float32 matrix (rows {@code
   * rowStride} apart, of which the first {@code cols} values are used) times {@code tokens} input
   * rows. For small matrices that change from call to call, such as the attention's key/value
   * cache; results agree with {@link #matmul} to float32 rounding (the summation order differs).
   */
  public static void dotRows(
      float[] m, int mOffset, int rows, int cols, int rowStride, float[] x, int xOffset, int tokens,
      float[] out, int outOffset) {
    if (rows < 0 || cols < 0 || rowStride < cols) {
      throw new IllegalArgumentException(
          "bad shape: rows " + rows + ", cols " + cols + ", row stride " + rowStride);
    }
    if (rows == 0) {
      return;
    }
    checkRange("m", m, mOffset, (long) (rows - 1) * rowStride + cols);
    checkProduct(rows, cols, x, xOffset, tokens, out, outOffset);
    split(pool, rows, 8, (long) rows * cols * tokens,
        (start, end) -> IMPL.dotRows(m, mOffset, rowStride, cols, x, xOffset, tokens, out, outOffset, rows,
            start, end));
  }

  /** Columns per group of {@link #rowsTimesColumnGroups}' second factor. */
  public static final int COLUMN_GROUP = 16;

  /**
   * {@code out[outOffset + i * outStride + j] = sum_k a[aOffset + i * aStride + k] * b[bOffset + (j /
   * 16) * groupStride + k * 16 + j % 16]} for {@code i < rows}, {@code j < cols}, {@code k < inner}:
   * row-major float32 times a matrix stored by groups of {@link #COLUMN_GROUP} columns, each group
   * {@code [inner, 16]} row-major from a multiple of {@code groupStride} (the last group is stored
   * whole; its columns past {@code cols} are not read). Each output is one fused multiply-add chain over k in order
   * (the same bits as {@link #matmul(PackedMatrix, float[], int, int, float[], int)} of b's
   * transpose packed, and in every implementation); groups are split over the pool. For a few rows
   * times a changing matrix, such as attention scores against the cached keys and probabilities
   * times the cached values when decoding: each group is one run of memory and its columns are the
   * vector lanes, so no output needs a reduction across lanes.
   */
  public static void rowsTimesColumnGroups(
      float[] a, int aOffset, int aStride, int rows, int inner, float[] b, int bOffset, int groupStride, int cols,
      float[] out, int outOffset, int outStride) {
    if (rows < 0 || inner < 0 || cols < 0 || aStride < inner || groupStride < COLUMN_GROUP * inner
        || outStride < cols) {
      throw new IllegalArgumentException("bad shape: " + rows + " x " + inner + " (stride " + aStride + ") times "
          + inner + " x " + cols + " (groups of 16 columns " + groupStride + " apart), out stride " + outStride);
    }
    if (rows == 0 || cols == 0) {
      return;
    }
    int groups = (cols + COLUMN_GROUP - 1) / COLUMN_GROUP;
    checkRange("a", a, aOffset, (long) (rows - 1) * aStride + inner);
    if (inner > 0) {
      checkRange("b", b, bOffset, (long) (groups - 1) * groupStride + (long) COLUMN_GROUP * inner);
    }
    checkRange("out", out, outOffset, (long) (rows - 1) * outStride + cols);
    split(pool, groups, 8, (long) rows * inner * cols, (start, end) -> IMPL.rowsTimesColumnGroups(a, aOffset, aStride,
        rows, inner, b, bOffset, groupStride, cols, out, outOffset, outStride, start, end));
  }

  /** {@link #dotRows} on a given implementation, on the caller's thread (for tests). */
  static void dotRows(
      KernelImpl impl, float[] m, int mOffset, int rows, int cols, int rowStride, float[] x, int xOffset,
      int tokens, float[] out, int outOffset) {
    impl.dotRows(m, mOffset, rowStride, cols, x, xOffset, tokens, out, outOffset, rows, 0, rows);
  }

  private static void checkProduct(
      int rows, int cols, float[] x, int xOffset, int tokens, float[] out, int outOffset) {
    if (tokens < 1) {
      throw new IllegalArgumentException("tokens must be at least 1, got " + tokens);
    }
    checkRange("x", x, xOffset, (long) tokens * cols);
    checkRange("out", out, outOffset, (long) tokens * rows);
  }

  /**
   * Runs {@code body} over {@code [0, units)} (rows or row groups) on the caller when the product
   * is small, else split over the pool in guided chunks: each a share of what is left (large first,
   * down to 4 units at the end), claimed by whichever thread is free, so that the threads finish
   * together even when one of them is slowed by other load. Every chunk is a multiple of 4 units to
   * match the micro-kernels.
   */
  private static void split(WorkerPool workers, int units, int minUnits, long work, RangeBody body) {
    int threads = workers.threads();
    if (threads == 1 || work < PARALLEL_THRESHOLD || units < minUnits) {
      body.run(0, units);
      return;
    }
    int[] bounds = guidedBounds(units, threads);
    workers.parallelFor(bounds.length - 1, task -> body.run(bounds[task], bounds[task + 1]));
  }

  /** Chunk boundaries over {@code [0, units)}: each chunk ~1/(2 threads) of what is left, rounded up to 4. */
  static int[] guidedBounds(int units, int threads) {
    int[] bounds = new int[16];
    int count = 0;
    int at = 0;
    while (at < units) {
      if (count + 2 > bounds.length) {
        bounds = java.util.Arrays.copyOf(bounds, bounds.length * 2);
      }
      bounds[count++] = at;
      int share = (units - at + 2 * threads - 1) / (2 * threads);
      at = Math.min(units, at + Math.max(4, (share + 3) / 4 * 4));
    }
    bounds[count++] = units;
    return java.util.Arrays.copyOf(bounds, count);
  }

  /** Writes row {@code row} of a packed matrix, widened to float32, into {@code out[offset ..]}. */
  public static void readRow(PackedMatrix w, int row, float[] out, int offset) {
    Objects.checkIndex(row, w.rows());
    checkRange("out", out, offset, w.cols());
    ScalarKernels.readPackedRow(w, row, out, offset);
  }

  /** Writes row {@code row} of {@code w}, widened to float32, into {@code out[offset ..]}. */
  public static void readRow(WeightMatrix w, int row, float[] out, int offset) {
    Objects.checkIndex(row, w.rows());
    checkRange("out", out, offset, w.cols());
    IMPL.readRow(w, row, out, offset);
  }

  /**
   * Runs {@code body.accept(i)} for every {@code i < tasks} on the kernel pool and returns when all
   * are done. Kernel calls made inside a task run on that task's thread.
   */
  public static void parallelFor(int tasks, java.util.function.IntConsumer body) {
    pool.parallelFor(tasks, body);
  }

  /**
   * GELU with the tanh approximation in place on {@code x[from, to)} ({@code x/2 (1 + tanh(sqrt(2/pi)
   * (x + 0.044715 x^3)))}), on the pool when long, in float32 with {@link #exp}'s exponential: the
   * Vector API version and its scalar twin agree bit for bit.
   */
  public static void geluTanh(float[] x, int from, int to) {
    Objects.checkFromToIndex(from, to, x.length);
    parallelRanges(to - from, 16384, (start, end) -> IMPL.geluTanh(x, from + start, from + end));
  }

  /**
   * The GeGLU product on {@code tokens} rows of {@code width} values: {@code gate[g + t width + i]
   * = gelu(gate[..] + gateBias[i]) * (up[u + t width + i] + upBias[i])} ({@link #geluTanh}'s GELU;
   * {@code up} is left alone), one pass per row while it is in cache. Rows are split over the pool;
   * a single row runs on the caller (~5 microseconds for the 2B model's 7680 values, less than
   * handing half of it to another core whose cache holds the other half of the inputs).
   */
  public static void geluProduct(
      float[] gate, int g, float[] gateBias, float[] up, int u, float[] upBias, int tokens, int width) {
    if (tokens < 0 || width < 0 || gateBias.length < width || upBias.length < width) {
      throw new IllegalArgumentException("bad shape: " + tokens + " rows of " + width + " values, biases of "
          + gateBias.length + " and " + upBias.length);
    }
    checkRange("gate", gate, g, (long) tokens * width);
    checkRange("up", up, u, (long) tokens * width);
    parallelRanges(tokens, Math.max(1, 16384 / Math.max(1, width)), (first, end) -> {
      for (int t = first; t < end; t++) {
        IMPL.geluProduct(gate, g + t * width, gateBias, up, u + t * width, upBias, 0, width);
      }
    });
  }

  /**
   * {@code x[i] = exp(x[i])} in place on {@code x[from, to)}, on the caller's thread: range
   * reduction and a polynomial from fixed float32 operations, within about 2 ulps of {@code
   * Math.exp}; the Vector API version and its scalar twin agree bit for bit (so results do not
   * depend on where a range starts, or on whether the JIT has compiled the code yet).
   */
  public static void exp(float[] x, int from, int to) {
    Objects.checkFromToIndex(from, to, x.length);
    IMPL.exp(x, from, to);
  }

  /**
   * {@code x[i] = cap * tanh(x[i] / cap)} in place on {@code x[from, to)} (a soft cap; {@code cap
   * <= 0} leaves x alone), on the pool: float32 operations within a few ulps of tanh, the Vector
   * API version and its scalar twin bit for bit.
   */
  public static void softCap(float[] x, int from, int to, float cap) {
    Objects.checkFromToIndex(from, to, x.length);
    if (cap > 0) {
      parallelRanges(to - from, 16384, (start, end) -> IMPL.softCap(x, from + start, from + end, cap));
    }
  }

  /** Work on the index range {@code [start, end)}. */
  @FunctionalInterface
  public interface RangeBody {
    void run(int start, int end);
  }

  /**
   * Splits {@code [0, items)} into chunks of at least {@code minChunk} items and runs them on the
   * kernel pool (on the caller alone when there is too little work to share).
   */
  public static void parallelRanges(int items, int minChunk, RangeBody body) {
    int threads = pool.threads();
    if (threads == 1 || items <= minChunk) {
      body.run(0, items);
      return;
    }
    int chunk = Math.max(minChunk, (items + threads * 4 - 1) / (threads * 4));
    int tasks = (items + chunk - 1) / chunk;
    pool.parallelFor(tasks, t -> body.run(t * chunk, Math.min(items, (t + 1) * chunk)));
  }

  private static void checkRange(String what, float[] array, int offset, long length) {
    if (offset < 0 || length < 0 || offset + length > array.length) {
      throw new IndexOutOfBoundsException(
          what + ": range [" + offset + ", " + (offset + length) + ") outside array of "
              + array.length);
    }
  }
}
