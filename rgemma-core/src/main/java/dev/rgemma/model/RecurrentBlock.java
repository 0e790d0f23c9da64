package dev.rgemma.model;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;

/**
 * Griffin's recurrent block: {@code out = (RG_LRU(Conv1D(n Wx + bx)) * gelu(n Wy + by)) Wout + bout}.
 * The RG-LRU state is float32; the conv state holds the last {@code convWidth - 1} conv inputs.
 */
public record RecurrentBlock(
    ModelConfig config,
    PackedMatrix linearY, // [lruWidth, hidden]
    float[] linearYBias, // [lruWidth]
    PackedMatrix linearX, // [lruWidth, hidden]
    float[] linearXBias, // [lruWidth]
    PackedMatrix linearOut, // [hidden, lruWidth]
    float[] linearOutBias, // [hidden]
    float[] convWeight, // [convWidth, lruWidth], convWeight[convWidth - 1] multiplies the current token
    float[] convBias, // [lruWidth]
    float[] softplusA, // [lruWidth], softplus(a_param)
    java.util.List<PackedMatrix> inputGate, // per head: W[h] transposed, [blockWidth (out), blockWidth (in)]
    float[] inputGateBias, // [lruWidth]
    java.util.List<PackedMatrix> recurrentGate, // per head, as inputGate
    float[] recurrentGateBias) // [lruWidth]
    implements TemporalBlock {

  /** RG-LRU constant c in a_t = sigma(Lambda)^(c r_t). */
  private static final float C = 8f;

  static RecurrentBlock load(Weights source, ModelConfig config, int layer) {
    int d = config.hiddenSize();
    int e = config.lruWidth();
    int heads = config.numHeads();
    int bw = config.lruBlockWidth();
    int width = config.conv1dWidth();
    // HF stores the depthwise conv as [e, 1, width]; we keep the reference's [width, e].
    float[] hfConv = source.floats(TensorNames.conv1d(layer, "weight"), e, 1, width);
    float[] convWeight = new float[width * e];
    for (int j = 0; j < e; j++) {
      for (int k = 0; k < width; k++) {
        convWeight[k * e + j] = hfConv[j * width + k];
      }
    }
    return new RecurrentBlock(
        config,
        source.matrix(TensorNames.linearY(layer, "weight"), e, d),
        source.floats(TensorNames.linearY(layer, "bias"), e),
        source.matrix(TensorNames.linearX(layer, "weight"), e, d),
        source.floats(TensorNames.linearX(layer, "bias"), e),
        source.matrix(TensorNames.linearOut(layer, "weight"), d, e),
        source.floats(TensorNames.linearOut(layer, "bias"), d),
        convWeight,
        source.floats(TensorNames.conv1d(layer, "bias"), e),
        softplus(source.floats(TensorNames.rgLruRecurrentParam(layer), e)),
        perHead(source, TensorNames.rgLruInputGate(layer, "weight"), heads, bw),
        source.floats(TensorNames.rgLruInputGate(layer, "bias"), heads, bw),
        perHead(source, TensorNames.rgLruRecurrentGate(layer, "weight"), heads, bw),
        source.floats(TensorNames.rgLruRecurrentGate(layer, "bias"), heads, bw));
  }

  private static float[] softplus(float[] a) {
    float[] out = new float[a.length];
    for (int j = 0; j < a.length; j++) {
      out[j] = Ops.softplus(a[j]);
    }
    return out;
  }

  /**
   * The block-diagonal gate [heads, bw, bw] (applied as {@code x W}) as one packed [bw, bw] matrix
   * per head holding {@code W[h]} transposed, so each head is a matrix product. The heads are packed
   * together ([heads * bw, bw], one allocation) and viewed per head when bw fills whole row groups.
   */
  private static java.util.List<PackedMatrix> perHead(Weights source, String name, int heads, int bw) {
    float[] w = source.floats(name, heads, bw, bw);
    float[] transposed = new float[heads * bw * bw]; // row h * bw + j, column i: W[h, i, j]
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < bw; i++) {
        for (int j = 0; j < bw; j++) {
          transposed[(h * bw + j) * bw + i] = w[(h * bw + i) * bw + j];
        }
      }
    }
    java.util.List<PackedMatrix> matrices = new java.util.ArrayList<>();
    PackedMatrix all = source.pack(new dev.rgemma.tensor.WeightMatrix(name, dev.rgemma.tensor.DType.F32,
        heads * bw, bw, java.lang.foreign.MemorySegment.ofArray(transposed)));
    for (int h = 0; h < heads; h++) {
      if (bw % all.groupRows() == 0) {
        matrices.add(all.rowBlock(h * bw, bw));
      } else {
        float[] head = java.util.Arrays.copyOfRange(transposed, h * bw * bw, (h + 1) * bw * bw);
        matrices.add(source.pack(new dev.rgemma.tensor.WeightMatrix(name + "[" + h + "]",
            dev.rgemma.tensor.DType.F32, bw, bw, java.lang.foreign.MemorySegment.ofArray(head))));
      }
    }
    return java.util.List.copyOf(matrices);
  }

  /** Runs the block on {@code n} ([tokens, hidden], rows grouped in segments), writing [tokens, hidden]. */
  void forward(float[] n, int tokens, java.util.List<Segment> segments, int layer, float[] out) {
    int e = config.lruWidth();
    float[] y;
    float[] x = null;
    long time = Profile.now();
    if (tokens == 1) {
      // One token: both products in one split over the threads (one hand-off and one tail
      // instead of two; the same arithmetic per output), as the MLP's gate and up; timed as
      // linear y.
      float[] yx = new float[2 * e]; // [y | x]
      Kernels.matmulEach(new PackedMatrix[] {linearY, linearX}, n, new int[] {0, 0}, yx, new int[] {0, e});
      y = java.util.Arrays.copyOfRange(yx, 0, e);
      x = java.util.Arrays.copyOfRange(yx, e, 2 * e);
    } else {
      y = new float[tokens * e]; // [tokens, lruWidth]
      Kernels.matmul(linearY, n, 0, tokens, y, 0);
    }
    Ops.addBias(y, linearYBias, tokens);
    Kernels.geluTanh(y, 0, y.length);
    time = Profile.add(Profile.Part.RECURRENT_LINEAR_Y, time);
    if (x == null) {
      x = new float[tokens * e]; // [tokens, lruWidth]
      Kernels.matmul(linearX, n, 0, tokens, x, 0);
    }
    Ops.addBias(x, linearXBias, tokens);
    Profile.add(Profile.Part.RECURRENT_LINEAR_X, time);

    float[] h = new float[tokens * e]; // [tokens, lruWidth]
    for (Segment segment : segments) {
      var state = (LayerState.RecurrentState) segment.state().layer(layer);
      long convTime = Profile.now();
      float[] conv = conv1d(x, segment.firstRow(), segment.rows(), state.convWindow()); // [rows, lruWidth]
      Profile.add(Profile.Part.RECURRENT_CONV, convTime);
      rgLru(conv, segment.rows(), segment.startPosition(), state.h(), h, segment.firstRow() * e);
    }
    time = Profile.now();
    for (int i = 0; i < h.length; i++) {
      h[i] *= y[i];
    }
    Kernels.matmul(linearOut, h, 0, tokens, out, 0);
    Ops.addBias(out, linearOutBias, tokens);
    Profile.add(Profile.Part.RECURRENT_OUT, time);
  }

  /**
   * Causal depthwise conv over [window; x]: {@code c[t] = b + sum_k w[k] * ext[t + k]} where ext
   * is the carried window (oldest first) followed by x. Leaves the last width-1 rows of ext in
   * {@code window}. Channels are split over the kernel pool (a whole prompt chunk per range; when
   * decoding, the state and weights are cold and two threads wait for them in parallel).
   */
  private float[] conv1d(float[] x, int firstRow, int tokens, float[] window) {
    int e = config.lruWidth();
    int width = config.conv1dWidth();
    int carried = width - 1;
    int xOffset = firstRow * e;
    float[] c = new float[tokens * e];
    Kernels.parallelRanges(e, 512, (start, end) -> {
      // Channel loops innermost (they vectorize); each channel sums its taps in order k = 0, 1, ...
      // from zero, then adds its bias.
      for (int t = 0; t < tokens; t++) {
        int out = t * e;
        for (int k = 0; k < width; k++) {
          int row = t + k; // row of ext
          float[] source = row < carried ? window : x;
          int in = row < carried ? row * e : xOffset + (row - carried) * e;
          int tap = k * e;
          for (int j = start; j < end; j++) {
            c[out + j] += source[in + j] * convWeight[tap + j];
          }
        }
        for (int j = start; j < end; j++) {
          c[out + j] += convBias[j];
        }
      }
      // The window keeps ext's last rows: row r takes ext row tokens + r, which lies below no row
      // written before it, so sliding in place is safe.
      for (int r = 0; r < carried; r++) {
        int row = tokens + r;
        if (row < carried) {
          System.arraycopy(window, row * e + start, window, r * e + start, end - start);
        } else {
          System.arraycopy(x, xOffset + (row - carried) * e + start, window, r * e + start, end - start);
        }
      }
    });
    return c;
  }

  /**
   * The RG-LRU scan; {@code h} ([lruWidth], float32) is carried in and out. Writes h_t of each
   * token to {@code outputs} from {@code outputOffset}. The gates depend only on the conv output,
   * so they are computed for all tokens first (matrix products per head); the scan itself is
   * independent per channel and runs on the kernel pool, channels split across threads.
   */
  private void rgLru(float[] c, int tokens, long startPosition, float[] h, float[] outputs, int outputOffset) {
    int e = config.lruWidth();
    long time = Profile.now();
    float[] inputGates;
    float[] recurrentGates;
    if (tokens == 1) {
      float[][] both = tokenGates(c);
      inputGates = both[0];
      recurrentGates = both[1];
    } else {
      float[][] both = promptGates(c, tokens);
      inputGates = both[0];
      recurrentGates = both[1];
    }
    time = Profile.add(Profile.Part.RECURRENT_GATES, time);
    Kernels.parallelRanges(e, 256, (start, end) -> {
      // Channels [start, end): the gate arithmetic for a whole token at a time (exponentials
      // through Kernels.exp, the rest in loops the JIT vectorizes), then the recurrence.
      int width = end - start;
      float[] gateX = new float[width];
      float[] a = new float[width];
      float[] a2 = new float[width];
      for (int t = 0; t < tokens; t++) {
        int base = t * e + start;
        for (int j = 0; j < width; j++) {
          gateX[j] = -inputGates[base + j];
          a[j] = -recurrentGates[base + j];
        }
        Kernels.exp(gateX, 0, width);
        Kernels.exp(a, 0, width);
        for (int j = 0; j < width; j++) {
          gateX[j] = 1f / (1f + gateX[j]); // sigmoid
          float logA = -C * (1f / (1f + a[j])) * softplusA[start + j];
          a[j] = logA;
          a2[j] = 2f * logA;
        }
        Kernels.exp(a, 0, width);
        Kernels.exp(a2, 0, width);
        boolean reset = startPosition + t == 0;
        for (int j = 0; j < width; j++) {
          float decay = reset ? 0f : a[j];
          float multiplier = reset ? 1f : (float) Math.sqrt(1f - a2[j]);
          float normalizedX = c[base + j] * gateX[j] * multiplier;
          float state = decay * h[start + j] + normalizedX;
          h[start + j] = state;
          outputs[outputOffset + base + j] = state;
        }
      }
    });
    Profile.add(Profile.Part.RECURRENT_SCAN, time);
  }

  /**
   * Both gates of one token ({@link #gates} for {@code tokens == 1}): every head of both in one
   * split over the threads, so that each thread streams its share of the heads as one run.
   */
  private float[][] tokenGates(float[] c) {
    int e = config.lruWidth();
    int bw = config.lruBlockWidth();
    int heads = inputGate.size();
    PackedMatrix[] ws = new PackedMatrix[2 * heads];
    int[] xOffsets = new int[2 * heads];
    int[] outOffsets = new int[2 * heads];
    for (int h = 0; h < heads; h++) {
      ws[h] = inputGate.get(h);
      ws[heads + h] = recurrentGate.get(h);
      xOffsets[h] = h * bw;
      xOffsets[heads + h] = h * bw;
      outOffsets[h] = h * bw;
      outOffsets[heads + h] = e + h * bw;
    }
    float[] out = new float[2 * e];
    Kernels.matmulEach(ws, c, xOffsets, out, outOffsets);
    float[] input = java.util.Arrays.copyOfRange(out, 0, e);
    float[] recurrent = java.util.Arrays.copyOfRange(out, e, 2 * e);
    for (int j = 0; j < e; j++) {
      input[j] += inputGateBias[j];
      recurrent[j] += recurrentGateBias[j];
    }
    return new float[][] {input, recurrent};
  }

  /** Per-thread scratch of {@link #promptGates}: one head's inputs and products for a chunk. */
  private static final ThreadLocal<float[][]> GATE_SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

  /**
   * Both gates' pre-activations for every token ({@code x_h W_h + b} per head), {@code [tokens,
   * lruWidth]} each: one product per head and gate ({@code [tokens, blockWidth]} times the head's
   * matrix), the 2 x heads products in one split over the pool (each on one thread), in reused
   * scratch arrays (fresh ones per head were ~1 MB of garbage per call).
   */
  private float[][] promptGates(float[] c, int tokens) {
    int e = config.lruWidth();
    int bw = config.lruBlockWidth();
    int heads = inputGate.size();
    float[][] out = {new float[tokens * e], new float[tokens * e]};
    Kernels.parallelFor(2 * heads, task -> {
      int head = task >> 1;
      boolean recurrent = (task & 1) == 1;
      float[][] scratch = GATE_SCRATCH.get();
      if (scratch[0].length < tokens * bw) {
        scratch[0] = new float[tokens * bw];
        scratch[1] = new float[tokens * bw];
      }
      float[] in = scratch[0];
      float[] product = scratch[1];
      for (int t = 0; t < tokens; t++) {
        System.arraycopy(c, t * e + head * bw, in, t * bw, bw);
      }
      Kernels.matmul((recurrent ? recurrentGate : inputGate).get(head), in, 0, tokens, product, 0);
      float[] bias = recurrent ? recurrentGateBias : inputGateBias;
      float[] gate = out[recurrent ? 1 : 0];
      for (int t = 0; t < tokens; t++) {
        for (int j = 0; j < bw; j++) {
          gate[t * e + head * bw + j] = product[t * bw + j] + bias[head * bw + j];
        }
      }
    });
    return out;
  }
}
