package dev.rgemma.model;

import dev.rgemma.kernels.Kernels;
import dev.rgemma.kernels.PackedMatrix;

/** GeGLU MLP: {@code (gelu(m Wg + bg) * (m Wu + bu)) Wd + bd}. */
public record MlpBlock(
    ModelConfig config,
    PackedMatrix gateProj, // [mlpWidth, hidden]
    float[] gateBias, // [mlpWidth]
    PackedMatrix upProj, // [mlpWidth, hidden]
    float[] upBias, // [mlpWidth]
    PackedMatrix downProj, // [hidden, mlpWidth]
    float[] downBias) { // [hidden]

  static MlpBlock load(Weights source, ModelConfig config, int layer) {
    int d = config.hiddenSize();
    int mlp = config.mlpWidth();
    return new MlpBlock(
        config,
        source.matrix(TensorNames.gateProj(layer, "weight"), mlp, d),
        source.floats(TensorNames.gateProj(layer, "bias"), mlp),
        source.matrix(TensorNames.upProj(layer, "weight"), mlp, d),
        source.floats(TensorNames.upProj(layer, "bias"), mlp),
        source.matrix(TensorNames.downProj(layer, "weight"), d, mlp),
        source.floats(TensorNames.downProj(layer, "bias"), d));
  }

  /**
   * {@code gate = gelu(gate + b_gate) * (up + b_up)} on columns [from, to) of one token's row:
   * gate's at {@code gate[gateBase ..]}, up's at {@code up[upBase ..]}.
   */
  private void activate(float[] gate, int gateBase, float[] up, int upBase, int from, int to) {
    for (int j = from; j < to; j++) {
      gate[gateBase + j] += gateBias[j];
      up[upBase + j] += upBias[j];
    }
    Kernels.geluTanh(gate, gateBase + from, gateBase + to); // nested: runs on this task's thread
    for (int j = from; j < to; j++) {
      gate[gateBase + j] *= up[upBase + j];
    }
  }

  void forward(float[] m, int tokens, float[] out) {
    if (tokens == 1) {
      forwardOne(m, out);
      return;
    }
    int mlp = config.mlpWidth();
    float[] gate = new float[tokens * mlp]; // [tokens, mlpWidth]
    float[] up = new float[tokens * mlp]; // [tokens, mlpWidth]
    long time = Profile.now();
    Kernels.matmul(gateProj, m, 0, tokens, gate, 0);
    Kernels.matmul(upProj, m, 0, tokens, up, 0);
    time = Profile.add(Profile.Part.MLP_GATE_UP, time);
    // Biases, GELU and the product in one pass over rows on the pool, while a row is in cache.
    Kernels.parallelRanges(tokens, Math.max(1, 16384 / mlp), (first, end) -> {
      for (int t = first; t < end; t++) {
        activate(gate, t * mlp, up, t * mlp, 0, mlp);
      }
    });
    time = Profile.add(Profile.Part.MLP_ACTIVATION, time);
    Kernels.matmul(downProj, gate, 0, tokens, out, 0);
    Ops.addBias(out, downBias, tokens);
    Profile.add(Profile.Part.MLP_DOWN, time);
  }

  /**
   * One token (decoding): gate and up side by side in one array, both products in one split over
   * the threads (one hand-off and one tail instead of two; the same arithmetic per output), the
   * activation split by columns.
   */
  private void forwardOne(float[] m, float[] out) {
    int mlp = config.mlpWidth();
    float[] gateUp = new float[2 * mlp]; // [gate | up]
    long time = Profile.now();
    Kernels.matmulEach(new PackedMatrix[] {gateProj, upProj}, m, new int[] {0, 0}, gateUp, new int[] {0, mlp});
    time = Profile.add(Profile.Part.MLP_GATE_UP, time);
    Kernels.parallelRanges(mlp, 1024, (from, to) -> activate(gateUp, 0, gateUp, mlp, from, to));
    time = Profile.add(Profile.Part.MLP_ACTIVATION, time);
    Kernels.matmul(downProj, gateUp, 0, 1, out, 0);
    Ops.addBias(out, downBias, 1);
    Profile.add(Profile.Part.MLP_DOWN, time);
  }
}
